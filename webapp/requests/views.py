"""Help request pages: browse open requests, post one, list one's own, show, close, reply."""

from __future__ import annotations

import logging

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from webapp import database
from webapp.chat import services as chat_services
from webapp.domain.tags import parse_tags
from webapp.exceptions import AlreadyDone, Invalid
from webapp.requests import services
from webapp.requests.forms import HelpRequestForm

logger = logging.getLogger(__name__)

bp = Blueprint("requests", __name__, url_prefix="/requests")


def _page_number() -> int:
    """Read the positive page number of a list from the query string (1 when absent)."""
    raw = request.args.get("page", "1")
    if not raw.isdigit() or int(raw) < 1 or len(raw) > 6:
        raise Invalid(f"The page number {raw[:20]!r} is invalid: use a whole number from 1.")
    return int(raw)


def _tag_filter() -> str | None:
    """Read the optional tag filter from the query string, in the profile's tag format."""
    raw = request.args.get("tag", "").strip()
    if not raw:
        return None
    try:
        tags = parse_tags(raw)
    except ValueError as error:
        raise Invalid(str(error)) from error
    if len(tags) != 1:
        raise Invalid("Filter by one tag at a time.")
    return tags[0]


@bp.get("/")
@login_required
def index():
    """List open requests for mentors, newest first, with a tag filter and pages."""
    services.require_mentor(current_user)
    tag = _tag_filter()
    page = services.open_requests(current_user, tag=tag, page=_page_number())
    return render_template("requests/index.html", page=page, tag=tag)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """Show the form for a new request, and post it."""
    services.require_mentee(current_user)
    form = HelpRequestForm()
    if request.method == "GET":
        return render_template("requests/new.html", form=form)
    if not form.validate():
        return render_template("requests/new.html", form=form), 422
    help_request = services.create_request(
        current_user,
        title=form.title.data,
        description=form.description.data,
        tags=form.parsed_tags,
        kind=form.kind.data,
        graded=form.graded.data,
    )
    database.commit()
    notified = len(services.matching_mentor_ids(form.parsed_tags, exclude_user_id=current_user.id))
    flash(_posted_message(notified))
    return redirect(help_request.url, 303)


def _posted_message(notified: int) -> str:
    """Return the flash message that reports to a mentee how many mentors were notified."""
    if notified == 0:
        return (
            "Your request is posted. No available mentor has these tags, so nobody was notified "
            "yet; mentors can still find it among the open requests."
        )
    if notified == 1:
        return "Your request is posted. 1 mentor with a matching tag was notified."
    return f"Your request is posted. {notified} mentors with matching tags were notified."


@bp.get("/mine")
@login_required
def mine():
    """List the mentee's own requests, newest first."""
    help_requests = services.requests_of(current_user)
    return render_template("requests/mine.html", help_requests=help_requests)


@bp.get("/<int:request_id>")
@login_required
def show(request_id: int):
    """Show a request: to its mentee with its chats, to a mentor with a way to reply."""
    help_request = services.request_for(current_user, request_id)
    is_mentee = help_request.mentee_id == current_user.id
    conversations = []
    own_conversation = None
    if is_mentee:
        conversations = chat_services.conversations_of(current_user, help_request_id=request_id)
    else:
        own_conversation = chat_services.conversation_of(request_id, current_user.id)
    return render_template(
        "requests/show.html",
        help_request=help_request,
        is_mentee=is_mentee,
        conversations=conversations,
        own_conversation=own_conversation,
    )


@bp.post("/<int:request_id>/close")
@login_required
def close(request_id: int):
    """Close a request: no new replies or offers; existing chats go on."""
    try:
        services.close_request(current_user, request_id)
    except AlreadyDone as done:
        database.rollback()
        flash(done.message)
    else:
        database.commit()
        flash("The request is closed. Existing chats and sessions go on.")
    return redirect(url_for("requests.show", request_id=request_id), 303)


@bp.post("/<int:request_id>/reply")
@login_required
def reply(request_id: int):
    """Open the mentor's chat about a request (the same one when replying again)."""
    conversation, created = chat_services.open_conversation(current_user, request_id)
    database.commit()
    if not created:
        flash("You already replied to this request: here is your chat.")
    return redirect(conversation.url, 303)
