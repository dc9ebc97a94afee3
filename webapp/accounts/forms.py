"""Forms for registration, login and profiles."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, EqualTo, InputRequired, Length, ValidationError

from webapp.accounts.services import timezone_names
from webapp.domain.tags import parse_tags
from webapp.forms import AmountField, CentsRange

PASSWORD_MIN = 10
PASSWORD_MAX = 128
PASSWORD_HINT = f"At least {PASSWORD_MIN} characters."


def password_length() -> list[Length]:
    """Build the length checks of a new password, one message for each bound."""
    return [
        Length(
            min=PASSWORD_MIN,
            message=f"The password is too short: use at least {PASSWORD_MIN} characters.",
        ),
        Length(
            max=PASSWORD_MAX,
            message=f"The password is too long: use at most {PASSWORD_MAX} characters.",
        ),
    ]


class RegisterForm(FlaskForm):
    """Create an account as a mentor, a mentee or both."""

    name = StringField("Name", validators=[DataRequired("Enter your name."), Length(max=80)])
    email = StringField(
        "Email",
        validators=[
            DataRequired("Enter your email address."),
            Length(max=254),
            Email("Enter a valid email address, like name@example.com."),
        ],
    )
    password = PasswordField(
        "Password",
        description=PASSWORD_HINT,
        validators=[DataRequired("Choose a password."), *password_length()],
    )
    wants_to_mentor = BooleanField("I want to mentor")
    wants_help = BooleanField("I want help")

    def validate_wants_help(self, field):
        if not field.data and not self.wants_to_mentor.data:
            raise ValidationError("Choose at least one: mentor, get help, or both.")


class LoginForm(FlaskForm):
    """Sign in with email and password."""

    email = StringField(
        "Email", validators=[DataRequired("Enter your email address."), Length(max=254)]
    )
    password = PasswordField(
        "Password", validators=[DataRequired("Enter your password."), Length(max=PASSWORD_MAX)]
    )
    remember = BooleanField("Remember me")


class ProfileForm(FlaskForm):
    """Name, time zone and roles."""

    name = StringField("Name", validators=[DataRequired("Enter your name."), Length(max=80)])
    timezone = StringField(
        "Time zone",
        validators=[DataRequired("Enter a time zone, like Europe/Berlin."), Length(max=64)],
    )
    wants_help = BooleanField("I want help: post help requests")
    wants_to_mentor = BooleanField("I want to mentor: answer help requests")

    def validate_wants_help(self, field):
        if not field.data and not self.wants_to_mentor.data:
            raise ValidationError("Choose at least one: mentor, get help, or both.")

    def validate_timezone(self, field):
        if field.data not in timezone_names():
            raise ValidationError(
                f"Unknown time zone '{field.data[:64]}': use an IANA name like Europe/Berlin."
            )


class PasswordChangeForm(FlaskForm):
    """Change one's password; other devices are logged out."""

    current_password = PasswordField(
        "Current password", validators=[DataRequired("Enter your current password.")]
    )
    new_password = PasswordField(
        "New password",
        description=PASSWORD_HINT,
        validators=[DataRequired("Choose a new password."), *password_length()],
    )
    confirm = PasswordField(
        "Repeat the new password",
        validators=[
            DataRequired("Repeat the new password."),
            EqualTo("new_password", "The two new passwords differ."),
        ],
    )


class MentorProfileForm(FlaskForm):
    """A mentor's public profile."""

    headline = TextAreaField(
        "Headline", validators=[DataRequired("Write a short headline."), Length(max=140)]
    )
    rate = AmountField(
        "Rate per 15 minutes",
        validators=[
            InputRequired("Enter your rate per 15 minutes, like 20.00."),
            CentsRange("RATE_MIN_CENTS", "RATE_MAX_CENTS"),
        ],
    )
    tags = StringField(
        "Expertise tags",
        description="Up to 10, separated by commas: letters, digits and + # . -",
        validators=[Length(max=400)],
    )
    away = BooleanField("Away: no notifications of new requests")
    first_15_free = BooleanField("First 15 minutes free for mentees new to paid sessions")

    parsed_tags: tuple[str, ...] | list[str] = ()

    def validate_tags(self, field):
        try:
            self.parsed_tags = parse_tags(field.data or "")
        except ValueError as error:
            raise ValidationError(str(error)) from error
