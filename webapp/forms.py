"""Form fields and validators shared by every feature."""

from __future__ import annotations

from wtforms import StringField
from wtforms.validators import ValidationError

from webapp.domain.money import parse_amount


class AmountField(StringField):
    """A money amount typed in major units ("20.00"), stored on `.cents`."""

    cents: int | None = None

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        self.cents = None
        if self.data:
            try:
                self.cents = parse_amount(self.data)
            except ValueError as error:
                self.cents = None
                raise ValueError(str(error)) from error


class CentsRange:
    """Validate that an AmountField lies within bounds read from the app configuration."""

    def __init__(self, min_key: str | None, max_key: str | None, *, min_cents: int = 0):
        self.min_key = min_key
        self.max_key = max_key
        self.min_cents = min_cents

    def __call__(self, form, field):
        from flask import current_app

        from webapp.domain.money import format_amount

        if field.cents is None:
            return
        config = current_app.config
        low = config[self.min_key] if self.min_key else self.min_cents
        high = config[self.max_key] if self.max_key else None
        currency = config["CURRENCY"]
        if field.cents < low:
            raise ValidationError(f"Enter at least {format_amount(low, currency)}.")
        if high is not None and field.cents > high:
            raise ValidationError(f"Enter at most {format_amount(high, currency)}.")
