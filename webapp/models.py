"""Column helpers shared by the models of every feature."""

from datetime import datetime
from typing import Annotated

from sqlalchemy.orm import mapped_column

from webapp import clock
from webapp.database import UTCDateTime

# An aware UTC instant; `created_at` columns default to the injected clock.
UTCInstant = Annotated[datetime, mapped_column(UTCDateTime())]
CreatedAt = Annotated[datetime, mapped_column(UTCDateTime(), default=clock.now, nullable=False)]
