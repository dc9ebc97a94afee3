"""Chat pages: the conversation list, a conversation, its messages poll and its actions."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, flash, make_response, redirect, render_template, request
from flask_login import current_user, login_required

from webapp import database
from webapp.chat import services
from webapp.chat.forms import MessageForm, SpecialRateForm, StartSessionForm
from webapp.chat.models import MESSAGE_SYSTEM, Conversation
from webapp.exceptions import AlreadyDone, Conflict, Invalid
from webapp.htmx import render, wants_fragment

logger = logging.getLogger(__name__)

bp = Blueprint("chat", __name__, url_prefix="/chats")

# The event that refreshes the message list: sent after a post, and by the notifications push.
CHANGED_EVENT = "chat:changed"


def _is_prefetch() -> bool:
    return request.headers.get("Sec-Purpose", "").startswith("prefetch")


def _chat_context(
    conversation: Conversation,
    *,
    message_form: MessageForm | None = None,
    rate_form: SpecialRateForm | None = None,
    action_error: str | None = None,
) -> dict:
    """Build what the chat page and each of its fragments render, from one place."""
    if message_form is None:
        message_form = MessageForm(formdata=None)
    message_form.form_token.data = services.new_form_token()
    is_mentor = current_user.id == conversation.mentor_id
    if rate_form is None:
        rate_form = SpecialRateForm(formdata=None)
    special_rate = services.special_rate_of(conversation.mentor_id, conversation.mentee_id)
    messages = services.messages_of(conversation)
    return {
        "conversation": conversation,
        "help_request": conversation.help_request,
        "other": conversation.other_party(current_user.id),
        "is_mentor": is_mentor,
        "messages": messages,
        "last_message_id": messages[-1].id if messages else 0,
        "message_form": message_form,
        "rate_form": rate_form,
        "special_rate": special_rate,
        "paid_rate_cents": services.paid_rate_cents(conversation),
        "live_session": services.active_live_session(
            conversation.mentor_id, conversation.mentee_id
        ),
        "action_error": action_error,
        "poll_seconds": current_app.config["POLL_INTERVAL_SECONDS"],
    }


def _mark_shown(conversation: Conversation, last_message_id: int) -> None:
    """Move the reader's marker to the newest message shown, unless this is a prefetch."""
    if last_message_id and not _is_prefetch():
        services.mark_read(current_user.id, conversation.id, last_message_id)


@bp.get("/")
@login_required
def index():
    """List the reader's conversations with their unread counts."""
    summaries = services.conversations_of(current_user)
    return render_template("chat/index.html", summaries=summaries)


@bp.get("/<int:conversation_id>")
@login_required
def show(conversation_id: int):
    """Show a conversation: its request, its messages, the message form and the actions."""
    conversation = services.conversation_for(current_user, conversation_id)
    context = _chat_context(conversation)
    _mark_shown(conversation, context["last_message_id"])
    return render_template("chat/show.html", **context)


@bp.get("/<int:conversation_id>/messages")
@login_required
def messages(conversation_id: int):
    """Return the messages after `after` for the htmx poll, or the whole page without htmx."""
    conversation = services.conversation_for(current_user, conversation_id)
    if not wants_fragment():
        context = _chat_context(conversation)
        _mark_shown(conversation, context["last_message_id"])
        return render_template("chat/show.html", **context)
    raw_after = request.args.get("after", "")
    if not raw_after.isdigit() or len(raw_after) > 18:
        raise Invalid(f"The message id {raw_after[:20]!r} is invalid: use a whole number.")
    new_messages = services.messages_of(conversation, after_id=int(raw_after))
    if not new_messages:
        # Nothing new: the htmx configuration swaps nothing on 204.
        response = make_response("", 204)
        response.vary.add("HX-Request")
        return response
    _mark_shown(conversation, new_messages[-1].id)
    context = {}
    if any(message.kind == MESSAGE_SYSTEM for message in new_messages):
        context = {**_chat_context(conversation), "actions_oob": True}
    context.update(messages=new_messages, last_message_id=new_messages[-1].id)
    return render("chat/show.html", "chat/_new_messages.html", **context)


@bp.get("/<int:conversation_id>/actions")
@login_required
def actions(conversation_id: int):
    """Return the session controls, which change when the pair's live session changes."""
    conversation = services.conversation_for(current_user, conversation_id)
    return render("chat/show.html", "chat/_actions.html", **_chat_context(conversation))


def _after_change(conversation: Conversation, fragment: str):
    """Respond to a successful chat action: a fresh fragment for htmx, a redirect otherwise."""
    if not wants_fragment():
        return redirect(conversation.url, 303)
    response = render("chat/show.html", fragment, **_chat_context(conversation))
    response.headers["HX-Trigger"] = CHANGED_EVENT
    return response


@bp.post("/<int:conversation_id>/messages")
@login_required
def post_message(conversation_id: int):
    """Store a message; a retried form (same one-time token) stores nothing twice."""
    conversation = services.conversation_for(current_user, conversation_id)
    form = MessageForm()
    if not form.validate():
        context = _chat_context(conversation, message_form=form)
        return render("chat/show.html", "chat/_message_form.html", status=422, **context)
    try:
        services.post_message(current_user, conversation.id, form.body.data, form.form_token.data)
    except AlreadyDone:
        database.rollback()
        logger.info("repeated message form in conversation %s ignored", conversation.id)
    else:
        database.commit()
    return _after_change(conversation, "chat/_message_form.html")


@bp.post("/<int:conversation_id>/special-rate")
@login_required
def set_special_rate(conversation_id: int):
    """Set the rate per 15 minutes of paid sessions between this chat's mentor and mentee."""
    conversation = services.conversation_for(current_user, conversation_id)
    services.require_chat_mentor(current_user, conversation)
    form = SpecialRateForm()
    if not form.validate():
        context = _chat_context(conversation, rate_form=form)
        return render("chat/show.html", "chat/_actions.html", status=422, **context)
    try:
        services.set_special_rate(current_user, conversation.id, form.rate.cents)
    except AlreadyDone:
        database.rollback()
    else:
        database.commit()
        if not wants_fragment():
            flash("Special rate saved.")
    return _after_change(conversation, "chat/_actions.html")


@bp.post("/<int:conversation_id>/sessions")
@login_required
def start_session(conversation_id: int):
    """Start a free or a paid live session for this chat's pair and post its room link."""
    conversation = services.conversation_for(current_user, conversation_id)
    services.require_chat_mentor(current_user, conversation)
    form = StartSessionForm()
    if not form.validate():
        message = " ".join(form.kind.errors) or "Choose a free or a paid session."
        context = _chat_context(conversation, action_error=message)
        return render("chat/show.html", "chat/_actions.html", status=422, **context)
    try:
        _, created = services.start_live_session(current_user, conversation.id, form.kind.data)
    except Conflict as rejection:
        # Both people should see why, so the rejection becomes a system message of its own.
        database.rollback()
        database.begin_write()
        services.post_session_rejection(current_user, conversation.id, rejection.message)
        database.commit()
        context = _chat_context(conversation, action_error=rejection.message)
        response = render("chat/show.html", "chat/_actions.html", status=409, **context)
        response.headers["HX-Trigger"] = CHANGED_EVENT
        return response
    database.commit()
    if not wants_fragment():
        flash(
            "A session is ready: the room link is in the chat."
            if created
            else "This pair already has a session that has not ended."
        )
    return _after_change(conversation, "chat/_actions.html")
