"""Forms for posting a help request."""

from __future__ import annotations

import re

from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, ValidationError

from webapp.domain.tags import parse_tags
from webapp.requests.models import KIND_FREELANCE, KIND_LIVE

TITLE_MAX = 120
DESCRIPTION_MAX = 10_000
TAGS_FIELD_MAX = 400

# Control characters other than tab and line breaks: PostgreSQL rejects NUL in text columns,
# and none of them belongs in plain text a person typed.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def normalize_text(text: str | None) -> str:
    """Return typed text with Windows and old Mac line breaks turned into "\\n"."""
    return (text or "").replace("\r\n", "\n").replace("\r", "\n")


class PlainText:
    """Reject control characters, which plain text typed by a person never contains."""

    def __call__(self, form, field):
        if field.data and _CONTROL_CHARACTERS.search(field.data):
            raise ValidationError(
                f"{field.label.text} contains control characters; remove them and try again."
            )


class HelpRequestForm(FlaskForm):
    """A mentee's new help request."""

    title = StringField(
        "Title",
        filters=[lambda value: value.strip() if value else value],
        validators=[DataRequired("Give your request a title."), Length(max=TITLE_MAX), PlainText()],
    )
    description = TextAreaField(
        "Description",
        description="Plain text: line breaks are kept, HTML is shown as typed.",
        filters=[normalize_text],
        validators=[
            DataRequired("Describe what you need help with."),
            Length(max=DESCRIPTION_MAX),
            PlainText(),
        ],
    )
    tags = StringField(
        "Tags",
        description="Up to 10, separated by commas: letters, digits and + # . -",
        validators=[Length(max=TAGS_FIELD_MAX)],
    )
    kind = RadioField(
        "Kind",
        choices=[
            SelectChoice(KIND_LIVE, "Live help in a session"),
            SelectChoice(KIND_FREELANCE, "A freelance job"),
        ],
        default=KIND_LIVE,
        validate_choice=True,
    )
    graded = BooleanField("This is graded work or an assessment")

    parsed_tags: list[str] | tuple[str, ...] = ()

    def validate_tags(self, field):
        try:
            self.parsed_tags = parse_tags(field.data or "")
        except ValueError as error:
            raise ValidationError(str(error)) from error
        if not self.parsed_tags:
            raise ValidationError("Add at least one tag, so mentors with that expertise see it.")
