"""Forms of the chat: a message, a session start and a special rate."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Regexp

from webapp.forms import AmountField, CentsRange
from webapp.requests.forms import PlainText, normalize_text
from webapp.sessions.models import KIND_FREE, KIND_PAID

MESSAGE_MAX = 4_000
# Tokens come from secrets.token_urlsafe: letters, digits, "-" and "_".
FORM_TOKEN_PATTERN = r"^[A-Za-z0-9_-]{16,64}$"


class MessageForm(FlaskForm):
    """One chat message; `form_token` makes a retried POST store it only once."""

    body = TextAreaField(
        "Message",
        filters=[normalize_text],
        validators=[
            DataRequired("Write a message before sending."),
            Length(max=MESSAGE_MAX),
            PlainText(),
        ],
    )
    form_token = HiddenField(
        validators=[
            DataRequired("This form has no message token. Reload the page and send again."),
            Regexp(
                FORM_TOKEN_PATTERN,
                message="This form's message token is invalid. Reload the page and send again.",
            ),
        ]
    )


class StartSessionForm(FlaskForm):
    """The kind of live session the mentor starts from the chat."""

    kind = RadioField(
        "Kind",
        choices=[SelectChoice(KIND_FREE, "Free session"), SelectChoice(KIND_PAID, "Paid session")],
        validators=[InputRequired("Choose a free or a paid session.")],
        validate_choice=True,
    )


class SpecialRateForm(FlaskForm):
    """A rate per 15 minutes that a mentor sets for the mentee of a chat."""

    rate = AmountField(
        "Special rate per 15 minutes",
        validators=[
            InputRequired("Enter the special rate per 15 minutes, like 15.00."),
            CentsRange("RATE_MIN_CENTS", "RATE_MAX_CENTS"),
        ],
    )
