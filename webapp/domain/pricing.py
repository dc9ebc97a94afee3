"""Billing arithmetic of paid live sessions: billed time to charge lines, and what credit buys.

All money is integer cents and all durations are integer seconds or minutes, so nothing uses
float.
"""

from bisect import bisect_right
from dataclasses import dataclass

from webapp.domain.money import round_half_up_div

# A charged session costs at least this many minutes, unless the first 15 minutes are free.
MINIMUM_MINUTES = 15
# Minutes given away on a mentee's first invoiced paid session with an opted-in mentor.
FREE_MINUTES = 15
# Rates are quoted per this many minutes.
RATE_MINUTES = 15
BASIS_POINTS = 10_000
# Rows of the price table shown beside the mentee's Start Session button.
PRICE_TABLE_MINUTES = (15, 30, 60)


@dataclass(frozen=True)
class Charge:
    """The lines of one live session's invoice, computed from its billed time."""

    billed_seconds: int
    minutes_charged: int
    free_minutes: int
    rate_15_cents: int
    fee_bp: int
    subtotal_cents: int
    fee_cents: int
    total_cents: int
    # False when billed time stayed below the grace period: no invoice is created at all.
    invoiced: bool


@dataclass(frozen=True)
class PriceRow:
    """One row of the mentee's price table: the price of a number of minutes with its fee."""

    minutes: int
    subtotal_cents: int
    fee_cents: int
    total_cents: int


def charge(
    billed_seconds: int,
    rate_15_cents: int,
    fee_bp: int,
    *,
    first_free: bool = False,
    grace_seconds: int = 60,
) -> Charge:
    """Compute the charge for a live session's billed time at a rate per 15 minutes.

    Below `grace_seconds` nothing is charged or invoiced. Otherwise every started minute
    counts, with a 15-minute minimum. With `first_free` the first 15 minutes are free and no
    minimum applies.
    """
    _check_count("billed_seconds", billed_seconds)
    _check_rate(rate_15_cents)
    _check_count("fee_bp", fee_bp)
    _check_count("grace_seconds", grace_seconds)

    if billed_seconds < grace_seconds:
        return Charge(
            billed_seconds=billed_seconds,
            minutes_charged=0,
            free_minutes=0,
            rate_15_cents=rate_15_cents,
            fee_bp=fee_bp,
            subtotal_cents=0,
            fee_cents=0,
            total_cents=0,
            invoiced=False,
        )

    started_minutes = _started_minutes(billed_seconds)
    minutes_charged = _minutes_charged(started_minutes, first_free=first_free)
    free_minutes = min(FREE_MINUTES, started_minutes) if first_free else 0
    subtotal_cents, fee_cents = price_of_minutes(minutes_charged, rate_15_cents, fee_bp)
    return Charge(
        billed_seconds=billed_seconds,
        minutes_charged=minutes_charged,
        free_minutes=free_minutes,
        rate_15_cents=rate_15_cents,
        fee_bp=fee_bp,
        subtotal_cents=subtotal_cents,
        fee_cents=fee_cents,
        total_cents=subtotal_cents + fee_cents,
        invoiced=True,
    )


def price_of_minutes(minutes: int, rate_15_cents: int, fee_bp: int) -> tuple[int, int]:
    """Return the subtotal and the fee in cents of exactly `minutes` minutes, with no minimum."""
    _check_count("minutes", minutes)
    _check_rate(rate_15_cents)
    _check_count("fee_bp", fee_bp)
    subtotal_cents = round_half_up_div(minutes * rate_15_cents, RATE_MINUTES)
    fee_cents = round_half_up_div(subtotal_cents * fee_bp, BASIS_POINTS)
    return subtotal_cents, fee_cents


def affordable_seconds(
    credit_cents: int,
    rate_15_cents: int,
    fee_bp: int,
    *,
    first_free: bool = False,
    cap_minutes: int | None = None,
    grace_seconds: int = 60,
) -> int:
    """Return the largest billed seconds whose charge fits the credit and, if set, the cap.

    Negative credit counts as none. Billed time below the grace period costs nothing, so with
    no credit the result is `grace_seconds - 1`. When even that does not fit (a grace period of
    0 with too little credit for the minimum), the result is 0.
    """
    _check_int("credit_cents", credit_cents)
    _check_rate(rate_15_cents)
    _check_count("fee_bp", fee_bp)
    _check_count("grace_seconds", grace_seconds)
    if cap_minutes is not None:
        _check_count("cap_minutes", cap_minutes)
    credit_cents = max(0, credit_cents)

    started_minutes = _max_started_minutes(credit_cents, rate_15_cents, fee_bp, first_free)
    # Every second up to the end of the last affordable started minute fits. Seconds below
    # the grace period are free, so they fit even when no started minute is affordable.
    seconds = max(started_minutes * 60, grace_seconds - 1, 0)
    if cap_minutes is not None:
        seconds = min(seconds, cap_minutes * 60)
    return seconds


def binding_limit_rule(
    credit_cents: int,
    rate_15_cents: int,
    fee_bp: int,
    *,
    first_free: bool = False,
    cap_minutes: int | None = None,
    grace_seconds: int = 60,
) -> str:
    """Return which bound sets `affordable_seconds`: "cap" when the spending cap, else "credit".

    When both allow the same billed time the cap is named, because the mentee chose it.
    """
    if cap_minutes is None:
        return "credit"
    without_cap = affordable_seconds(
        credit_cents,
        rate_15_cents,
        fee_bp,
        first_free=first_free,
        grace_seconds=grace_seconds,
    )
    return "cap" if cap_minutes * 60 <= without_cap else "credit"


def minimum_credit_cents(rate_15_cents: int, fee_bp: int, seconds: int = 1200) -> int:
    """Return the available credit needed to create or start a paid live session.

    It is the total price, fee included, of `seconds` rounded up to whole minutes. Free
    minutes are ignored.
    """
    _check_count("seconds", seconds)
    subtotal_cents, fee_cents = price_of_minutes(_started_minutes(seconds), rate_15_cents, fee_bp)
    return subtotal_cents + fee_cents


def price_table(rate_15_cents: int, fee_bp: int) -> list[PriceRow]:
    """Return the prices of 15, 30 and 60 minutes at this rate and fee, for the price table."""
    rows = []
    for minutes in PRICE_TABLE_MINUTES:
        subtotal_cents, fee_cents = price_of_minutes(minutes, rate_15_cents, fee_bp)
        rows.append(PriceRow(minutes, subtotal_cents, fee_cents, subtotal_cents + fee_cents))
    return rows


def _started_minutes(seconds: int) -> int:
    # ceil(seconds / 60) in integers.
    return -(-seconds // 60)


def _minutes_charged(started_minutes: int, *, first_free: bool) -> int:
    if first_free:
        return max(0, started_minutes - FREE_MINUTES)
    return max(MINIMUM_MINUTES, started_minutes)


def _total_of_minutes(minutes: int, rate_15_cents: int, fee_bp: int) -> int:
    subtotal_cents, fee_cents = price_of_minutes(minutes, rate_15_cents, fee_bp)
    return subtotal_cents + fee_cents


def _max_started_minutes(
    credit_cents: int, rate_15_cents: int, fee_bp: int, first_free: bool
) -> int:
    """Return the maximum started minutes whose charge fits the credit, or 0 when none does."""
    # The total never decreases as minutes grow, so a binary search finds the last one that
    # fits. The subtotal alone exceeds the credit at `upper` minutes: upper * rate / 15 is more
    # than credit + 1, and rounding takes off less than one cent.
    upper = (credit_cents + 1) * RATE_MINUTES // rate_15_cents + 1
    affordable_minutes = (
        bisect_right(
            range(upper + 1),
            credit_cents,
            key=lambda minutes: _total_of_minutes(minutes, rate_15_cents, fee_bp),
        )
        - 1
    )
    if first_free:
        # The free minutes come on top of whatever the credit pays for (0 minutes cost 0).
        return FREE_MINUTES + affordable_minutes
    if affordable_minutes < MINIMUM_MINUTES:
        # Even the minimum charge does not fit, so no started minute is affordable.
        return 0
    return affordable_minutes


def _check_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")


def _check_count(name: str, value: object) -> None:
    _check_int(name, value)
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value}")


def _check_rate(rate_15_cents: object) -> None:
    _check_int("rate_15_cents", rate_15_cents)
    if rate_15_cents <= 0:
        raise ValueError(f"rate_15_cents must be positive, got {rate_15_cents}")
