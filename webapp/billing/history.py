"""Read models for the history pages: sessions, ledger rows, weekly earnings and CSV exports."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import aliased

from webapp.accounts.models import User
from webapp.billing import ledger
from webapp.billing.common import now
from webapp.billing.models import (
    ACCOUNT_BALANCE,
    ACCOUNT_EARNINGS,
    Invoice,
    LedgerEntry,
    Transfer,
    account_name,
)
from webapp.domain.money import format_major_units
from webapp.domain.timeline import billed_seconds
from webapp.extensions import db
from webapp.sessions.models import LiveSession

# NOTE: the history, balance and earnings pages show the newest 500 rows without paging; the
# earnings CSV has every row.
HISTORY_LIMIT = 500
CHART_WEEKS = 12
# Transfers that take money out of earnings to the outside world, not earned or given back.
PAYOUT_KINDS = ("payout",)


@dataclass(frozen=True)
class SessionRow:
    """One line of a person's session history."""

    live_session: LiveSession
    role: str
    billed_seconds: int
    invoice: Invoice | None

    @property
    def amount_cents(self) -> int | None:
        return self.invoice.charged_total_cents if self.invoice else None


@dataclass(frozen=True)
class LedgerRow:
    """One ledger entry of an account with its transfer and the balance right after it."""

    entry: LedgerEntry
    transfer: Transfer
    balance_after_cents: int


@dataclass(frozen=True)
class WeekTotal:
    """Net earnings of one week, Monday to Sunday in the reader's time zone."""

    week_start: date
    cents: int


@dataclass(frozen=True)
class Bar:
    """One bar of the SVG earnings chart, in the chart's user units."""

    x: int
    y: int
    width: int
    height: int
    label_x: int
    week: WeekTotal


@dataclass(frozen=True)
class Chart:
    """Geometry of the weekly earnings chart, drawn by the template as SVG."""

    width: int
    height: int
    baseline_y: int
    top_y: int
    max_cents: int
    bars: list[Bar]


def sessions_of(user_id: int) -> list[SessionRow]:
    """Return the sessions a person took part in, newest first, with their invoices."""
    statement = (
        select(LiveSession, Invoice)
        .outerjoin(Invoice, Invoice.live_session_id == LiveSession.id)
        .where(or_(LiveSession.mentor_id == user_id, LiveSession.mentee_id == user_id))
        .order_by(LiveSession.created_at.desc(), LiveSession.id.desc())
        .limit(HISTORY_LIMIT)
    )
    at = now()
    rows = []
    for live_session, invoice in db.session.execute(statement):
        seconds = billed_seconds(live_session.billed_ms_closed, live_session.running_since, at)
        rows.append(
            SessionRow(
                live_session=live_session,
                role=live_session.role_of(user_id) or "",
                billed_seconds=seconds,
                invoice=invoice,
            )
        )
    return rows


def ledger_rows(account: str, limit: int | None = HISTORY_LIMIT) -> list[LedgerRow]:
    """Return an account's newest entries, newest first, each with the balance after it.

    A `limit` of None returns every entry.
    """
    balance = ledger.balance_cents(account)
    rows = []
    for entry in ledger.entries_for(account, limit=limit):
        rows.append(LedgerRow(entry=entry, transfer=entry.transfer, balance_after_cents=balance))
        balance -= entry.amount_cents
    return rows


def balance_rows(mentee_id: int) -> list[LedgerRow]:
    """Return the ledger rows of a mentee's credit balance."""
    return ledger_rows(account_name(ACCOUNT_BALANCE, mentee_id))


def earnings_rows(mentor_id: int) -> list[LedgerRow]:
    """Return the ledger rows of a mentor's earnings."""
    return ledger_rows(account_name(ACCOUNT_EARNINGS, mentor_id))


def week_start(instant: datetime, zone: ZoneInfo) -> date:
    """Return the Monday of the week an instant falls in, in a time zone."""
    local = instant.astimezone(zone).date()
    return local - timedelta(days=local.weekday())


def weekly_earnings(mentor_id: int, zone_name: str, weeks: int = CHART_WEEKS) -> list[WeekTotal]:
    """Return the mentor's net earnings (payouts left out) of each of the last `weeks` weeks."""
    zone = ZoneInfo(zone_name or "UTC")
    current = week_start(now(), zone)
    first = current - timedelta(weeks=weeks - 1)
    since = datetime.combine(first, time(), tzinfo=zone).astimezone(UTC)
    statement = (
        select(LedgerEntry.amount_cents, Transfer.created_at)
        .join(Transfer)
        .where(
            LedgerEntry.account == account_name(ACCOUNT_EARNINGS, mentor_id),
            Transfer.kind.not_in(PAYOUT_KINDS),
            Transfer.created_at >= since,
        )
    )
    totals = {first + timedelta(weeks=index): 0 for index in range(weeks)}
    for amount_cents, created_at in db.session.execute(statement):
        start = week_start(created_at, zone)
        if start in totals:
            totals[start] += amount_cents
    return [WeekTotal(week_start=start, cents=cents) for start, cents in totals.items()]


def chart_of(weeks: list[WeekTotal], *, width: int = 640, height: int = 240) -> Chart:
    """Lay out one bar per week; a week with net refunds draws no bar above the baseline."""
    left, right, top, bottom = 70, 10, 20, 40
    baseline_y = height - bottom
    plot_height = baseline_y - top
    max_cents = max([week.cents for week in weeks] + [0])
    slot = (width - left - right) // max(len(weeks), 1)
    bars = []
    for index, week in enumerate(weeks):
        bar_height = 0
        if max_cents > 0 and week.cents > 0:
            bar_height = max(1, week.cents * plot_height // max_cents)
        x = left + index * slot + slot // 6
        bar_width = slot - slot // 3
        bars.append(
            Bar(
                x=x,
                y=baseline_y - bar_height,
                width=bar_width,
                height=bar_height,
                label_x=x + bar_width // 2,
                week=week,
            )
        )
    return Chart(
        width=width,
        height=height,
        baseline_y=baseline_y,
        top_y=top,
        max_cents=max_cents,
        bars=bars,
    )


def earnings_csv(mentor_id: int, zone_name: str) -> str:
    """Return the mentor's earnings ledger as CSV, oldest first, amounts in major units."""
    zone = ZoneInfo(zone_name or "UTC")
    output = io.StringIO()
    writer = csv.writer(output, lineterminator="\n")
    writer.writerow(["date", "kind", "memo", "amount", "balance", "invoice", "job"])
    rows = ledger_rows(account_name(ACCOUNT_EARNINGS, mentor_id), limit=None)
    for row in reversed(rows):
        writer.writerow(
            [
                row.transfer.created_at.astimezone(zone).isoformat(timespec="seconds"),
                row.transfer.kind,
                _csv_text(row.transfer.memo),
                _plain(row.entry.amount_cents),
                _plain(row.balance_after_cents),
                row.transfer.invoice_id or "",
                row.transfer.job_id or "",
            ]
        )
    return output.getvalue()


INVOICE_CSV_HEADER = [
    "invoice",
    "created_at",
    "state",
    "settled_at",
    "mentor_email",
    "mentee_email",
    "billed_seconds",
    "minutes_charged",
    "free_minutes",
    "rate_15",
    "fee_bp",
    "subtotal",
    "fee",
    "total",
    "refunded_subtotal",
    "refunded_fee",
    "charged_total",
]


def invoices_csv(first_day: date, last_day: date) -> str:
    """Return every invoice created from `first_day` to `last_day` (UTC dates, inclusive) as CSV."""
    since = datetime.combine(first_day, time(), tzinfo=UTC)
    until = datetime.combine(last_day + timedelta(days=1), time(), tzinfo=UTC)
    mentor = aliased(User)
    mentee = aliased(User)
    statement = (
        select(Invoice, mentor.email, mentee.email)
        .join(mentor, mentor.id == Invoice.mentor_id)
        .join(mentee, mentee.id == Invoice.mentee_id)
        .where(Invoice.created_at >= since, Invoice.created_at < until)
        .order_by(Invoice.created_at, Invoice.id)
    )
    output = io.StringIO()
    writer = csv.writer(output, lineterminator="\n")
    writer.writerow(INVOICE_CSV_HEADER)
    for invoice, mentor_email, mentee_email in db.session.execute(statement):
        writer.writerow(
            [
                invoice.id,
                invoice.created_at.isoformat(timespec="milliseconds"),
                invoice.state,
                invoice.settled_at.isoformat(timespec="milliseconds") if invoice.settled_at else "",
                mentor_email,
                mentee_email,
                invoice.billed_seconds,
                invoice.minutes_charged,
                invoice.free_minutes,
                _plain(invoice.rate_15_cents),
                invoice.fee_bp,
                _plain(invoice.subtotal_cents),
                _plain(invoice.fee_cents),
                _plain(invoice.total_cents),
                _plain(invoice.refunded_subtotal_cents),
                _plain(invoice.refunded_fee_cents),
                _plain(invoice.charged_total_cents),
            ]
        )
    return output.getvalue()


def _plain(cents: int) -> str:
    """Format cents as major units without thousands commas, for spreadsheets."""
    return format_major_units(cents).replace(",", "")


def _csv_text(text: str) -> str:
    """Neutralise text a spreadsheet would run as a formula (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
