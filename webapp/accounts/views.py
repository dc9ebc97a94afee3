"""Registration, login, logout, profiles and public mentor pages."""

import logging

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from webapp import database
from webapp.accounts import services
from webapp.accounts.forms import (
    LoginForm,
    MentorProfileForm,
    PasswordChangeForm,
    ProfileForm,
    RegisterForm,
)
from webapp.accounts.models import User
from webapp.domain.money import format_major_units
from webapp.extensions import db, limiter

logger = logging.getLogger(__name__)

bp = Blueprint("accounts", __name__)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _login_account_key() -> str:
    return "login-account:" + services.normalize_email(request.form.get("email", ""))[:254]


def _failed_login(response) -> bool:
    # Only failed attempts count, so a person who signs in and out often is never locked out.
    return response.status_code != 303


def _safe_next(target: str | None) -> str:
    """Return `target` if it is a local path, else the home page."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("accounts.home")


@bp.get("/")
def home():
    """Send visitors to the login page and people to their dashboard."""
    if not current_user.is_authenticated:
        return redirect(url_for("accounts.login"))
    return render_template("accounts/home.html")


@bp.route("/register", methods=["GET", "POST"])
def register():
    """Create an account and sign in."""
    form = RegisterForm()
    if request.method == "POST":
        if form.validate():
            try:
                user = services.create_user(
                    email=form.email.data,
                    name=form.name.data,
                    password=form.password.data,
                    is_mentor=form.wants_to_mentor.data,
                    is_mentee=form.wants_help.data,
                )
            except services.EmailTaken:
                form.email.errors.append("An account with this email address already exists.")
            else:
                services.start_login(user, remember=False)
                database.commit()
                login_user(user)
                flash("Welcome to OpenMentor.")
                if user.is_mentor:
                    return redirect(url_for("accounts.mentor_profile_edit"), 303)
                return redirect(url_for("accounts.home"), 303)
        return render_template("accounts/register.html", form=form), 422
    return render_template("accounts/register.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], deduct_when=_failed_login)
@limiter.limit(
    _login_limit, key_func=_login_account_key, methods=["POST"], deduct_when=_failed_login
)
def login():
    """Sign in with email and password."""
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("accounts.home"))
    form = LoginForm()
    if request.method == "POST":
        if form.validate():
            user = services.authenticate(form.email.data, form.password.data)
            if user is not None:
                services.start_login(user, remember=form.remember.data)
                database.commit()
                login_user(user, remember=form.remember.data)
                return redirect(_safe_next(request.args.get("next")), 303)
            logger.info("failed login for %s from %s", form.email.data[:254], request.remote_addr)
            form.password.errors.append("Wrong email or password.")
        return render_template("accounts/login.html", form=form), 422
    return render_template("accounts/login.html", form=form)


@bp.post("/logout")
def logout():
    """Sign out and revoke this login, so its cookies stop working."""
    if current_user.is_authenticated and current_user.current_login_id:
        services.end_login(current_user.current_login_id)
        database.commit()
        logger.info("user %s logged out", current_user.id)
    logout_user()
    flash("You are signed out.")
    return redirect(url_for("accounts.login"), 303)


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    """Show and change the name, time zone and roles."""
    form = _profile_form()
    password_form = PasswordChangeForm(prefix="password")
    if request.method == "POST":
        if form.validate():
            services.update_profile(
                current_user,
                name=form.name.data,
                timezone=form.timezone.data,
                is_mentee=form.wants_help.data,
                is_mentor=form.wants_to_mentor.data,
            )
            database.commit()
            flash("Profile saved.")
            return redirect(url_for("accounts.profile"), 303)
        return _render_profile(form, password_form), 422
    return _render_profile(form, password_form)


@bp.post("/profile/password")
@login_required
def change_password():
    """Change the password and log out every other device."""
    form = _profile_form(formdata=None)
    password_form = PasswordChangeForm(prefix="password")
    if password_form.validate():
        if services.check_password(current_user, password_form.current_password.data):
            revoked = services.change_password(current_user, password_form.new_password.data)
            database.commit()
            flash(f"Password changed. {revoked} other device(s) were signed out.")
            return redirect(url_for("accounts.profile"), 303)
        password_form.current_password.errors.append("The current password is wrong.")
    return _render_profile(form, password_form), 422


def _profile_form(**kwargs) -> ProfileForm:
    """Build the profile form, with the roles read from the user's is_mentee and is_mentor."""
    return ProfileForm(
        obj=current_user,
        wants_help=current_user.is_mentee,
        wants_to_mentor=current_user.is_mentor,
        **kwargs,
    )


def _render_profile(form: ProfileForm, password_form: PasswordChangeForm) -> str:
    return render_template(
        "accounts/profile.html",
        form=form,
        password_form=password_form,
        timezones=sorted(services.timezone_names()),
    )


@bp.route("/profile/mentor", methods=["GET", "POST"])
@login_required
def mentor_profile_edit():
    """Show and change the mentor profile."""
    form = MentorProfileForm()
    if request.method == "GET":
        form.headline.data = current_user.headline
        if current_user.rate_15_cents is not None:
            form.rate.data = format_major_units(current_user.rate_15_cents)
        form.tags.data = ", ".join(current_user.tag_names)
        form.away.data = current_user.away
        form.first_15_free.data = current_user.first_15_free
        return render_template("accounts/mentor_profile_edit.html", form=form)
    if form.validate():
        services.update_mentor_profile(
            current_user,
            headline=form.headline.data,
            rate_15_cents=form.rate.cents,
            tags=form.parsed_tags,
            away=form.away.data,
            first_15_free=form.first_15_free.data,
        )
        database.commit()
        flash("Mentor profile saved.")
        return redirect(url_for("accounts.mentor_profile_edit"), 303)
    return render_template("accounts/mentor_profile_edit.html", form=form), 422


@bp.get("/mentors/<int:user_id>")
def mentor_profile(user_id: int):
    """Show a mentor's public profile."""
    mentor = db.session.get(User, user_id)
    if mentor is None or not mentor.is_mentor or not mentor.is_active:
        abort(404, description="No mentor has this profile address.")
    return render_template("accounts/mentor_profile.html", mentor=mentor)
