"""Forms for invoices, freelance jobs, direct payments and reviews."""

from __future__ import annotations

import secrets

from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, IntegerField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, StopValidation

from webapp.billing.invoices import REASON_MAX_CHARS
from webapp.billing.jobs import QUESTION_MAX_CHARS, SCOPE_MAX_CHARS, TITLE_MAX_CHARS
from webapp.billing.payments import NOTE_MAX_CHARS
from webapp.billing.reviews import TEXT_MAX_CHARS
from webapp.forms import AmountField, CentsRange

AMOUNT_REQUIRED = "Enter an amount, such as 20.00."
MINUTES_REQUIRED = "Enter a whole number of minutes, such as 15."


class MinutesField(IntegerField):
    """A whole number of minutes whose parse error is `MINUTES_REQUIRED`.

    WTForms' own "Not a valid integer value." does not say what to enter, and the range check
    would repeat the same message after it.
    """

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            raise ValueError(MINUTES_REQUIRED) from error

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()


class DisputeForm(FlaskForm):
    """The mentee's dispute: what is wrong and the minutes they believe are right."""

    reason = TextAreaField(
        "What is wrong with this invoice?",
        validators=[
            DataRequired("Say what is wrong with this invoice."),
            Length(
                max=REASON_MAX_CHARS,
                message=f"Shorten the reason to at most {REASON_MAX_CHARS} characters.",
            ),
        ],
    )
    minutes = MinutesField(
        "Minutes you believe are right",
        validators=[InputRequired(MINUTES_REQUIRED), NumberRange(min=0, message=MINUTES_REQUIRED)],
    )


class AdjustForm(FlaskForm):
    """The mentor's adjustment: fewer charged minutes."""

    minutes = MinutesField(
        "Charge this many minutes",
        validators=[InputRequired(MINUTES_REQUIRED), NumberRange(min=0, message=MINUTES_REQUIRED)],
    )


class RefundForm(FlaskForm):
    """The mentor's refund of part or all of what an invoice still charges."""

    amount = AmountField(
        "Refund amount",
        validators=[InputRequired(AMOUNT_REQUIRED), CentsRange(None, None, min_cents=1)],
    )


class ReviewForm(FlaskForm):
    """The mentee's rating of the mentor, with an optional text."""

    rating = RadioField(
        "Rating",
        choices=[SelectChoice(str(value), f"{value} out of 5") for value in range(5, 0, -1)],
        validators=[InputRequired("Choose a rating from 1 to 5.")],
    )
    text = TextAreaField("Review (optional)", validators=[Length(max=TEXT_MAX_CHARS)])


class OfferForm(FlaskForm):
    """The mentor's freelance offer: title, scope, fixed price and due date."""

    title = StringField(
        "Title",
        validators=[DataRequired("Give the job a title."), Length(max=TITLE_MAX_CHARS)],
    )
    scope = TextAreaField(
        "Scope",
        validators=[DataRequired("Describe what you will deliver."), Length(max=SCOPE_MAX_CHARS)],
    )
    price = AmountField(
        "Fixed price",
        validators=[
            InputRequired(AMOUNT_REQUIRED),
            CentsRange(None, "FREELANCE_PRICE_MAX_CENTS", min_cents=1),
        ],
    )
    due_on = DateField("Due date", validators=[InputRequired("Choose a due date.")])


class QuestionForm(FlaskForm):
    """The mentee's question about a delivered job, which suspends its release."""

    question = TextAreaField(
        "What should the mentor clarify or fix?",
        validators=[
            DataRequired("Say what the mentor should clarify or fix."),
            Length(max=QUESTION_MAX_CHARS),
        ],
    )


class DirectPaymentForm(FlaskForm):
    """The mentee's direct payment to the chat's mentor, once per form token."""

    amount = AmountField(
        "Amount",
        validators=[
            InputRequired(AMOUNT_REQUIRED),
            CentsRange(None, "DIRECT_PAYMENT_MAX_CENTS", min_cents=1),
        ],
    )
    note = StringField("Note", validators=[Length(max=NOTE_MAX_CHARS)])
    form_token = HiddenField(validators=[DataRequired("This form has expired. Reload the page.")])

    def fresh_token(self) -> DirectPaymentForm:
        """Give the form a new one-time token, so one click pays once and a new form pays again."""
        self.form_token.data = secrets.token_urlsafe(24)
        return self
