"""Invoice, freelance job and history pages, and the forms that move money."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Blueprint, Response, flash, redirect, request, url_for
from flask_login import current_user, login_required

from webapp import database
from webapp.billing import history, invoices, jobs, ledger, payments, reviews
from webapp.billing.forms import (
    AdjustForm,
    DirectPaymentForm,
    DisputeForm,
    OfferForm,
    QuestionForm,
    RefundForm,
    ReviewForm,
)
from webapp.billing.models import ACCOUNT_BALANCE, ACCOUNT_EARNINGS, account_name
from webapp.exceptions import AlreadyDone, NotFound, ServiceError
from webapp.htmx import render, wants_fragment

logger = logging.getLogger(__name__)

bp = Blueprint("billing", __name__)


def _is_prefetch() -> bool:
    """Tell whether the browser is only prefetching this GET, which must write nothing."""
    return request.headers.get("Sec-Purpose", "").startswith("prefetch")


def _attempt(perform: Callable[[], object]) -> tuple[str | None, ServiceError | None]:
    """Run a service call and commit, or roll back and return the refusal.

    Returns ("already", error) for an action already in effect, (None, error) for a refusal
    the page shows, and ("done", None) after a commit. NotFound propagates to the 404 page.
    """
    try:
        perform()
    except NotFound:
        raise
    except AlreadyDone as done:
        database.rollback()
        logger.info("%s already in effect: %s", request.path, done.message)
        return "already", done
    except ServiceError as error:
        database.rollback()
        logger.info("%s rejected with %s: %s", request.path, error.status, error.message)
        return None, error
    database.commit()
    return "done", None


# Invoices


def _invoice_context(invoice_id: int, **extra) -> dict:
    """Build everything the invoice page and its fragment show, from one place."""
    invoice = invoices.invoice_for(current_user.id, invoice_id)
    role = invoice.live_session.role_of(current_user.id)
    forms = extra.pop("forms", {})
    return {
        "invoice": invoice,
        "role": role,
        "changes": invoices.changes_of(invoice.id),
        "intervals": invoices.intervals_of(invoice),
        "dispute": invoices.dispute_of(invoice.id),
        "transfers": invoices.transfers_of(invoice.id),
        "seconds_left": invoices.seconds_left_to_dispute(invoice),
        "review": reviews.review_of(invoice.live_session_id),
        "dispute_form": forms.get("dispute") or DisputeForm(formdata=None),
        "adjust_form": forms.get("adjust") or AdjustForm(formdata=None),
        "refund_form": forms.get("refund") or RefundForm(formdata=None),
        "review_form": forms.get("review") or ReviewForm(formdata=None),
        "message": None,
        "error": None,
        **extra,
    }


def _render_invoice(invoice_id: int, status: int = 200, **extra) -> Response:
    context = _invoice_context(invoice_id, **extra)
    return render("billing/invoice.html", "billing/_invoice.html", status, **context)


def _invoice_action(
    invoice_id: int, action: str, form, perform: Callable[[], object], success: str
):
    """Check visibility and role, validate the form, run the action and render the response."""
    invoice = invoices.invoice_for(current_user.id, invoice_id)
    invoices.apply_due(invoice_id)
    try:
        invoices.check_role(invoice, current_user.id, action)
    except ServiceError as error:
        database.rollback()
        return _render_invoice(invoice_id, error.status, error=error.message)
    if not form.validate():
        database.rollback()
        return _render_invoice(invoice_id, 422, forms={action: form})
    outcome, error = _attempt(perform)
    if outcome is None:
        return _render_invoice(invoice_id, error.status, error=error.message)
    message = error.message if outcome == "already" else success
    if wants_fragment():
        return _render_invoice(invoice_id, message=message)
    flash(message)
    return redirect(url_for("billing.invoice", invoice_id=invoice_id), 303)


@bp.get("/invoices/<int:invoice_id>")
@login_required
def invoice(invoice_id: int):
    """Show an invoice to its mentor or mentee, settling it first if its window has passed."""
    invoices.invoice_for(current_user.id, invoice_id)
    if not _is_prefetch():
        invoices.apply_due(invoice_id)
    return _render_invoice(invoice_id)


@bp.post("/invoices/<int:invoice_id>/dispute")
@login_required
def dispute(invoice_id: int):
    """Dispute an open invoice (its mentee)."""
    form = DisputeForm()
    return _invoice_action(
        invoice_id,
        "dispute",
        form,
        lambda: invoices.dispute(
            invoice_id, current_user.id, reason=form.reason.data, minutes_claimed=form.minutes.data
        ),
        "Your dispute was sent. The invoice waits until the mentor or the operator decides.",
    )


@bp.post("/invoices/<int:invoice_id>/adjust")
@login_required
def adjust(invoice_id: int):
    """Lower an invoice's charged minutes (its mentor)."""
    form = AdjustForm()
    return _invoice_action(
        invoice_id,
        "adjust",
        form,
        lambda: invoices.adjust(invoice_id, current_user.id, minutes=form.minutes.data),
        "The invoice was adjusted.",
    )


@bp.post("/invoices/<int:invoice_id>/refund")
@login_required
def refund(invoice_id: int):
    """Refund part or all of an invoice (its mentor)."""
    form = RefundForm()
    return _invoice_action(
        invoice_id,
        "refund",
        form,
        lambda: invoices.refund(invoice_id, current_user.id, amount_cents=form.amount.cents),
        "The refund was made.",
    )


@bp.post("/invoices/<int:invoice_id>/review")
@login_required
def review(invoice_id: int):
    """Rate the mentor of an invoiced session (its mentee, once)."""
    form = ReviewForm()
    return _invoice_action(
        invoice_id,
        "review",
        form,
        lambda: reviews.create_review(
            invoice_id, current_user.id, rating=int(form.rating.data), text=form.text.data or ""
        ),
        "Thank you: your review is on the mentor's profile.",
    )


# Freelance jobs and direct payments


def _job_context(job_id: int, **extra) -> dict:
    job = jobs.job_for(current_user.id, job_id)
    return {
        "job": job,
        "role": "mentor" if current_user.id == job.mentor_id else "mentee",
        "question_form": extra.pop("question_form", None) or QuestionForm(formdata=None),
        "message": None,
        "error": None,
        **extra,
    }


def _render_job(job_id: int, status: int = 200, **extra) -> Response:
    return render("billing/job.html", "billing/_job.html", status, **_job_context(job_id, **extra))


@bp.get("/jobs/<int:job_id>")
@login_required
def job(job_id: int):
    """Show a freelance job to its mentor or mentee, releasing it first if it is due."""
    jobs.job_for(current_user.id, job_id)
    if not _is_prefetch():
        jobs.apply_due(job_id)
    return _render_job(job_id)


@bp.post("/jobs/<int:job_id>/<action>")
@login_required
def job_action(job_id: int, action: str):
    """Accept, decline, withdraw, deliver, cancel, approve or question a job."""
    found = jobs.job_for(current_user.id, job_id)
    if action not in jobs.ACTIONS:
        raise NotFound(f"A freelance job has no action {action!r}.")
    jobs.apply_due(job_id)
    form = QuestionForm()
    try:
        jobs.check_role(found, current_user.id, action)
    except ServiceError as error:
        database.rollback()
        return _render_job(job_id, error.status, error=error.message)
    if action == "question" and not form.validate():
        database.rollback()
        return _render_job(job_id, 422, question_form=form)
    question = (form.question.data or "") if action == "question" else ""
    outcome, error = _attempt(lambda: jobs.act(job_id, current_user.id, action, question=question))
    if outcome is None:
        return _render_job(job_id, error.status, error=error.message)
    message = error.message if outcome == "already" else f"The job is {found.state} now."
    if wants_fragment():
        return _render_job(job_id, message=message)
    flash(message)
    return redirect(url_for("billing.job", job_id=job_id), 303)


def freelance_context(conversation, **extra) -> dict:
    """Build the chat's freelance and direct-payment panel for the current user."""
    return {
        "conversation": conversation,
        "role": "mentor" if current_user.id == conversation.mentor_id else "mentee",
        "graded": conversation.help_request.graded,
        "request_open": conversation.help_request.is_open,
        "jobs": jobs.jobs_of_conversation(conversation.id),
        "offer_form": extra.pop("offer_form", None) or OfferForm(formdata=None),
        "payment_form": extra.pop("payment_form", None)
        or DirectPaymentForm(formdata=None).fresh_token(),
        "available_cents": ledger.available_credit_cents(current_user.id),
        "message": None,
        "error": None,
        **extra,
    }


def _render_panel(conversation_id: int, status: int = 200, **extra) -> Response:
    conversation = jobs.conversation_for(current_user.id, conversation_id)
    panel = freelance_context(conversation, **extra)
    return render(
        "billing/freelance.html",
        "billing/_freelance.html",
        status,
        conversation=conversation,
        panel=panel,
    )


@bp.get("/conversations/<int:conversation_id>/freelance")
@login_required
def freelance(conversation_id: int):
    """Show a chat's freelance jobs, the offer form and the direct-payment form."""
    return _render_panel(conversation_id)


@bp.post("/conversations/<int:conversation_id>/freelance")
@login_required
def offer(conversation_id: int):
    """Offer a freelance job in a chat (its mentor; never on graded work)."""
    conversation = jobs.conversation_for(current_user.id, conversation_id)
    form = OfferForm()
    try:
        jobs.check_offer_allowed(conversation, current_user.id)
    except ServiceError as error:
        database.rollback()
        return _render_panel(conversation_id, error.status, error=error.message)
    if not form.validate():
        database.rollback()
        return _render_panel(conversation_id, 422, offer_form=form)
    created = []
    outcome, error = _attempt(
        lambda: created.append(
            jobs.offer(
                conversation_id,
                current_user.id,
                title=form.title.data,
                scope=form.scope.data,
                price_cents=form.price.cents,
                due_on=form.due_on.data,
            )
        )
    )
    if outcome is None:
        return _render_panel(conversation_id, error.status, error=error.message)
    message = "Your freelance offer was sent."
    if wants_fragment():
        return _render_panel(conversation_id, message=message)
    flash(message)
    return redirect(url_for("billing.job", job_id=created[0].id), 303)


@bp.post("/conversations/<int:conversation_id>/direct-payment")
@login_required
def direct_payment(conversation_id: int):
    """Pay the chat's mentor directly from the mentee's credit, once per form."""
    conversation = jobs.conversation_for(current_user.id, conversation_id)
    form = DirectPaymentForm()
    if current_user.id != conversation.mentee_id:
        database.rollback()
        return _render_panel(
            conversation_id, 403, error="Only the mentee of this chat can pay its mentor directly."
        )
    if not form.validate():
        database.rollback()
        return _render_panel(conversation_id, 422, payment_form=form)
    outcome, error = _attempt(
        lambda: payments.pay_directly(
            conversation_id,
            current_user.id,
            amount_cents=form.amount.cents,
            note=form.note.data or "",
            form_token=form.form_token.data,
        )
    )
    if outcome is None:
        return _render_panel(conversation_id, error.status, error=error.message, payment_form=form)
    message = error.message if outcome == "already" else f"You paid {conversation.mentor.name}."
    if wants_fragment():
        return _render_panel(conversation_id, message=message)
    flash(message)
    return redirect(url_for("billing.balance"), 303)


# History


def _apply_due_money_of_current_user() -> None:
    """Apply the current user's due settlements and releases, so the page shows them."""
    if _is_prefetch():
        return
    invoices.apply_due_for_user(current_user.id)
    jobs.apply_due_for_user(current_user.id)


@bp.get("/history")
@login_required
def session_history():
    """List every session of the current user with its billed time, amount and invoice."""
    _apply_due_money_of_current_user()
    return render(
        "billing/history.html",
        "billing/_history.html",
        rows=history.sessions_of(current_user.id),
    )


@bp.get("/balance")
@login_required
def balance():
    """Show the mentee's balance, available credit and every ledger row of it."""
    _apply_due_money_of_current_user()
    return render(
        "billing/balance.html",
        "billing/_balance.html",
        balance_cents=ledger.balance_cents(account_name(ACCOUNT_BALANCE, current_user.id)),
        available_cents=ledger.available_credit_cents(current_user.id),
        unsettled_cents=ledger.unsettled_invoices_cents(current_user.id),
        rows=history.balance_rows(current_user.id),
    )


@bp.get("/earnings")
@login_required
def earnings():
    """Show the mentor's earnings, a weekly chart and every ledger row of them."""
    _apply_due_money_of_current_user()
    weeks = history.weekly_earnings(current_user.id, current_user.timezone)
    return render(
        "billing/earnings.html",
        "billing/_earnings.html",
        earnings_cents=ledger.balance_cents(account_name(ACCOUNT_EARNINGS, current_user.id)),
        chart=history.chart_of(weeks),
        rows=history.earnings_rows(current_user.id),
    )


@bp.get("/earnings.csv")
@login_required
def earnings_csv():
    """Download the mentor's earnings ledger as CSV."""
    _apply_due_money_of_current_user()
    body = history.earnings_csv(current_user.id, current_user.timezone)
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="earnings.csv"'},
    )


@bp.app_context_processor
def _billing_helpers() -> dict:
    """Let other features' templates include the freelance panel and the mentor's reviews."""
    return {
        "freelance_context": freelance_context,
        "review_summary": reviews.summary_for,
    }
