"""Forms of the session room: the mentor's start checklist, the meeting link and the cap."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from webapp.domain.pricing import MINIMUM_MINUTES

# Same bound as the `meeting_url` column.
MEETING_URL_MAX = 500

CAP_NOT_A_NUMBER = "Enter the spending cap as a whole number of minutes."

_TICK = "Tick this item before requesting to start the session."


class StartChecklistForm(FlaskForm):
    """The four checks a mentor confirms before *Request to Start Session*."""

    clear_request = BooleanField(
        "I am clear on the request and the mentee's expectations.",
        validators=[DataRequired(_TICK)],
    )
    can_help = BooleanField(
        "I can help the mentee in a significant way.", validators=[DataRequired(_TICK)]
    )
    call_ready = BooleanField(
        "The mentee confirmed that their call tool is set up.", validators=[DataRequired(_TICK)]
    )
    environment_ready = BooleanField(
        "The mentee confirmed that the environment is right for a session.",
        validators=[DataRequired(_TICK)],
    )


class MeetingLinkForm(FlaskForm):
    """The meeting link of the room; the service accepts only https URLs."""

    url = StringField(
        "Meeting link",
        description="Any https:// link: Zoom, Google Meet, Jitsi Meet or another call tool.",
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        validators=[
            DataRequired("Enter a meeting link that starts with https://."),
            Length(max=MEETING_URL_MAX),
        ],
    )


class CapForm(FlaskForm):
    """The mentee's spending cap, in billed minutes."""

    cap_minutes = IntegerField(
        "Spending cap in billed minutes",
        description="The timer pauses by itself when billed time reaches the cap.",
        validators=[
            InputRequired(CAP_NOT_A_NUMBER),
            # The service rejects a cap below the 15-minute minimum charge with this message too.
            NumberRange(
                min=MINIMUM_MINUTES,
                message=f"The spending cap cannot be below {MINIMUM_MINUTES} minutes.",
            ),
        ],
    )
