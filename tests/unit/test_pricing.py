"""Unit tests of billing arithmetic: charges, what credit buys, minimum credit, price table."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from webapp.domain.money import round_half_up_div
from webapp.domain.pricing import (
    Charge,
    PriceRow,
    affordable_seconds,
    binding_limit_rule,
    charge,
    minimum_credit_cents,
    price_of_minutes,
    price_table,
)

# Each row: billed seconds, rate per 15 minutes, fee in basis points, first 15 minutes free,
# then the expected minutes charged, free minutes, subtotal, fee, total and whether invoiced.
# The comment works each row out by hand: started minutes = ceil(seconds / 60),
# subtotal = round_half_up(minutes * rate / 15), fee = round_half_up(subtotal * bp / 10000).
CHARGE_CASES = [
    # 0 s is below the 60 s grace: nothing charged, no invoice.
    (0, 2000, 0, False, 0, 0, 0, 0, 0, False),
    # 59 s is still below the grace.
    (59, 2000, 0, False, 0, 0, 0, 0, 0, False),
    # 59 s with a fee: still nothing.
    (59, 2000, 350, False, 0, 0, 0, 0, 0, False),
    # 60 s: 1 started minute, minimum 15; 15 * 2000 / 15 = 2000.
    (60, 2000, 0, False, 15, 0, 2000, 0, 2000, True),
    # 14:59 = 899 s: ceil(14.98) = 15 minutes; 2000.
    (899, 2000, 0, False, 15, 0, 2000, 0, 2000, True),
    # 15:00 = 900 s: exactly 15 minutes; 2000.
    (900, 2000, 0, False, 15, 0, 2000, 0, 2000, True),
    # 15:01 = 901 s: 16 started minutes; 16 * 2000 / 15 = 2133.33 -> 2133.
    (901, 2000, 0, False, 16, 0, 2133, 0, 2133, True),
    # 60:00 = 3600 s: 60 minutes; 60 * 2000 / 15 = 8000.
    (3600, 2000, 0, False, 60, 0, 8000, 0, 8000, True),
    # 6 h = 21600 s: 360 minutes; 360 * 2000 / 15 = 48000.
    (21600, 2000, 0, False, 360, 0, 48000, 0, 48000, True),
    # 17.00 per 15 min, 60 s: minimum 15 minutes; 1700.
    (60, 1700, 0, False, 15, 0, 1700, 0, 1700, True),
    # 17.00, 15:01: 16 * 1700 / 15 = 27200 / 15 = 1813.33 -> 1813.
    (901, 1700, 0, False, 16, 0, 1813, 0, 1813, True),
    # 17.00, 16:59 = 1019 s: 17 minutes; 28900 / 15 = 1926.67 -> 1927.
    (1019, 1700, 0, False, 17, 0, 1927, 0, 1927, True),
    # 17.00, 20:00: 20 minutes; 34000 / 15 = 2266.67 -> 2267.
    (1200, 1700, 0, False, 20, 0, 2267, 0, 2267, True),
    # 17.00, 20:01: 21 minutes; 35700 / 15 = 2380 exactly.
    (1201, 1700, 0, False, 21, 0, 2380, 0, 2380, True),
    # 25.00, 15:01: 16 minutes; 40000 / 15 = 2666.67 -> 2667.
    (901, 2500, 0, False, 16, 0, 2667, 0, 2667, True),
    # 25.00, 21:00 = 1260 s: 21 minutes; 52500 / 15 = 3500.
    (1260, 2500, 0, False, 21, 0, 3500, 0, 3500, True),
    # 25.00, 22:01 = 1321 s: 23 minutes; 57500 / 15 = 3833.33 -> 3833.
    (1321, 2500, 0, False, 23, 0, 3833, 0, 3833, True),
    # 25.00, 60:00: 60 minutes; 150000 / 15 = 10000.
    (3600, 2500, 0, False, 60, 0, 10000, 0, 10000, True),
    # 17.00 and 350 bp, 60 s: subtotal 1700; fee 1700 * 350 / 10000 = 59.5 -> 60 (half up).
    (60, 1700, 350, False, 15, 0, 1700, 60, 1760, True),
    # 17.00 and 350 bp, 15:01: subtotal 1813; fee 634550 / 10000 = 63.455 -> 63.
    (901, 1700, 350, False, 16, 0, 1813, 63, 1876, True),
    # 15.00 and 350 bp, 20:01: 21 minutes; subtotal 2100; fee 73.5 -> 74 (half up).
    (1201, 1500, 350, False, 21, 0, 2100, 74, 2174, True),
    # 25.00 and 350 bp, 60:00: subtotal 10000; fee 350.
    (3600, 2500, 350, False, 60, 0, 10000, 350, 10350, True),
    # Lowest rate 1.00, 61 s: minimum 15 minutes; 100.
    (61, 100, 0, False, 15, 0, 100, 0, 100, True),
    # Highest rate 1,000.00, 6 h: 360 * 100000 / 15 = 2400000.
    (21600, 100000, 0, False, 360, 0, 2400000, 0, 2400000, True),
    # First 15 free, 30 s: below the grace, so no invoice and no free minutes either.
    (30, 2000, 0, True, 0, 0, 0, 0, 0, False),
    # First 15 free, 10 min: max(0, 10 - 15) = 0 charged; min(15, 10) = 10 free; invoiced at 0.
    (600, 2000, 0, True, 0, 10, 0, 0, 0, True),
    # First 15 free, 15 min: 0 charged, 15 free.
    (900, 2000, 0, True, 0, 15, 0, 0, 0, True),
    # First 15 free, 16 min: 1 charged; 2000 / 15 = 133.33 -> 133; 15 free.
    (960, 2000, 0, True, 1, 15, 133, 0, 133, True),
    # First 15 free, 15:01 starts minute 16: same as 16 minutes.
    (901, 2000, 0, True, 1, 15, 133, 0, 133, True),
    # First 15 free at 17.00 and 350 bp, 16 min: 1700 / 15 = 113.33 -> 113;
    # fee 113 * 350 / 10000 = 3.955 -> 4.
    (960, 1700, 350, True, 1, 15, 113, 4, 117, True),
    # First 15 free at 25.00, 6 h: 360 - 15 = 345 minutes; 345 * 2500 / 15 = 57500.
    (21600, 2500, 0, True, 345, 15, 57500, 0, 57500, True),
]


@pytest.mark.parametrize(
    (
        "billed",
        "rate",
        "fee_bp",
        "first_free",
        "minutes",
        "free",
        "subtotal",
        "fee",
        "total",
        "invoiced",
    ),
    CHARGE_CASES,
)
def test_charge_table(
    billed, rate, fee_bp, first_free, minutes, free, subtotal, fee, total, invoiced
):
    result = charge(billed, rate, fee_bp, first_free=first_free)
    assert result.billed_seconds == billed
    assert result.rate_15_cents == rate
    assert result.fee_bp == fee_bp
    assert result.minutes_charged == minutes
    assert result.free_minutes == free
    assert result.subtotal_cents == subtotal
    assert result.fee_cents == fee
    assert result.total_cents == total
    assert result.invoiced is invoiced


def test_charge_table_size():
    assert len(CHARGE_CASES) >= 25


def test_charge_custom_grace():
    # With a 30 s grace, 30 s is charged the 15-minute minimum.
    result = charge(30, 2000, 0, grace_seconds=30)
    assert result.invoiced is True
    assert result.total_cents == 2000


def test_charge_zero_grace_charges_minimum():
    # With no grace at all, even 0 s billed is a charged session.
    result = charge(0, 2000, 0, grace_seconds=0)
    assert result.invoiced is True
    assert result.minutes_charged == 15


def test_charge_is_frozen():
    result = charge(60, 2000, 0)
    with pytest.raises(AttributeError):
        result.total_cents = 0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ((-1, 2000, 0), ValueError),
        ((60, 0, 0), ValueError),
        ((60, -100, 0), ValueError),
        ((60, 2000, -1), ValueError),
        ((60.0, 2000, 0), TypeError),
        ((60, 20.0, 0), TypeError),
        ((True, 2000, 0), TypeError),
    ],
)
def test_charge_rejects_bad_input(args, error):
    with pytest.raises(error):
        charge(*args)


def test_charge_rejects_negative_grace():
    with pytest.raises(ValueError, match="grace_seconds"):
        charge(60, 2000, 0, grace_seconds=-1)


@pytest.mark.parametrize(
    ("minutes", "rate", "fee_bp", "subtotal", "fee"),
    [
        # No minimum: 0 minutes cost nothing.
        (0, 1700, 350, 0, 0),
        # 1 minute at 17.00: 113.33 -> 113; fee 3.955 -> 4.
        (1, 1700, 350, 113, 4),
        # 10 minutes at 17.00: 17000 / 15 = 1133.33 -> 1133; fee 39.655 -> 40.
        (10, 1700, 350, 1133, 40),
        # 15 minutes at 20.00: 2000, no fee.
        (15, 2000, 0, 2000, 0),
    ],
)
def test_price_of_minutes_values(minutes, rate, fee_bp, subtotal, fee):
    assert price_of_minutes(minutes, rate, fee_bp) == (subtotal, fee)


# Each row: credit, rate, fee, first free, cap minutes, then the expected affordable seconds.
AFFORDABLE_CASES = [
    # 20.00 at 17.00 per 15 min: 17 minutes cost 1927 <= 2000, 18 minutes cost
    # 30600 / 15 = 2040 > 2000, so 17:00 = 1020 s.
    (2000, 1700, 0, False, None, 1020),
    # Same with 350 bp: 17 minutes cost 1927 + 67 (67.445) = 1994 <= 2000;
    # 18 minutes cost 2040 + 71 (71.4) = 2111 > 2000. Still 1020 s.
    (2000, 1700, 350, False, None, 1020),
    # No credit: only the free grace period, 0 to 59 s.
    (0, 1700, 0, False, None, 59),
    # 16.99 is below the 15-minute minimum of 17.00: still only the grace period.
    (1699, 1700, 0, False, None, 59),
    # Exactly 17.00 buys the minimum, 15 minutes; 16 minutes cost 1813.
    (1700, 1700, 0, False, None, 900),
    # First 15 free with no credit: the free 15 minutes; minute 16 costs 113.
    (0, 1700, 0, True, None, 900),
    # First 15 free with 20.00: 15 free plus the 17 minutes the credit buys = 32 minutes.
    (2000, 1700, 0, True, None, 1920),
    # 1,000.00 at 17.00: 882 minutes cost 99960, 883 cost 100073.33 -> 100073; 52920 s.
    (100000, 1700, 0, False, None, 52920),
    # The same credit with a 30-minute cap: the cap binds at 1800 s.
    (100000, 1700, 0, False, 30, 1800),
    # A cap above what the credit buys changes nothing.
    (2000, 1700, 0, False, 60, 1020),
    # A cap of 0 minutes allows no billed time at all.
    (2000, 1700, 0, False, 0, 0),
    # Negative credit counts as none.
    (-500, 1700, 0, False, None, 59),
    # 20.00 at 20.00: exactly 15 minutes; 16 minutes cost 2133.
    (2000, 2000, 0, False, None, 900),
    # 40.00 at 25.00: 24 minutes cost 60000 / 15 = 4000; 25 minutes cost 4166.67 -> 4167.
    (4000, 2500, 0, False, None, 1440),
]


@pytest.mark.parametrize(
    ("credit", "rate", "fee_bp", "first_free", "cap", "seconds"), AFFORDABLE_CASES
)
def test_affordable_seconds_table(credit, rate, fee_bp, first_free, cap, seconds):
    result = affordable_seconds(credit, rate, fee_bp, first_free=first_free, cap_minutes=cap)
    assert result == seconds


def test_affordable_seconds_twenty_dollars_fits():
    # The answer's charge fits, and one second more does not.
    assert charge(1020, 1700, 0).total_cents <= 2000
    assert charge(1021, 1700, 0).total_cents > 2000


def test_affordable_seconds_custom_grace():
    # No credit and a 90 s grace: 0 to 89 s are free.
    assert affordable_seconds(0, 1700, 0, grace_seconds=90) == 89


def test_affordable_seconds_grace_beyond_credit():
    # A 20-minute grace outlasts the 17 minutes that 20.00 buys.
    assert affordable_seconds(2000, 1700, 0, grace_seconds=1200) == 1199


def test_affordable_seconds_zero_grace_no_credit():
    # With no grace and no credit, not even 0 s fits; the answer is 0.
    assert affordable_seconds(0, 1700, 0, grace_seconds=0) == 0


def test_affordable_seconds_huge_credit_is_fast():
    # 10^12 cents at 1.00 per 15 min buys 10^10 * 15 minutes = 9 * 10^12 s, exactly, because
    # every 15 minutes cost exactly 100 cents.
    assert affordable_seconds(10**12, 100, 0) == 9 * 10**12


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"credit_cents": 100, "rate_15_cents": 0, "fee_bp": 0}, ValueError),
        ({"credit_cents": 100, "rate_15_cents": 1700, "fee_bp": -1}, ValueError),
        ({"credit_cents": 100, "rate_15_cents": 1700, "fee_bp": 0, "cap_minutes": -1}, ValueError),
        (
            {"credit_cents": 100, "rate_15_cents": 1700, "fee_bp": 0, "grace_seconds": -1},
            ValueError,
        ),
        ({"credit_cents": 1.5, "rate_15_cents": 1700, "fee_bp": 0}, TypeError),
    ],
)
def test_affordable_seconds_rejects_bad_input(kwargs, error):
    with pytest.raises(error):
        affordable_seconds(**kwargs)


def test_binding_limit_rule_no_cap():
    assert binding_limit_rule(100000, 1700, 0) == "credit"


def test_binding_limit_rule_cap_binds():
    assert binding_limit_rule(100000, 1700, 0, cap_minutes=30) == "cap"


def test_binding_limit_rule_credit_binds():
    # 20.00 buys 17 minutes, less than a 60-minute cap.
    assert binding_limit_rule(2000, 1700, 0, cap_minutes=60) == "credit"


def test_binding_limit_rule_tie_names_cap():
    # 20.00 buys exactly 17 minutes, the same as the cap.
    assert binding_limit_rule(2000, 1700, 0, cap_minutes=17) == "cap"


@pytest.mark.parametrize(
    ("rate", "fee_bp", "seconds", "cents"),
    [
        # 20 minutes at 17.00: 34000 / 15 = 2266.67 -> 2267.
        (1700, 0, 1200, 2267),
        # With 350 bp: fee 2267 * 350 / 10000 = 79.345 -> 79; 2346.
        (1700, 350, 1200, 2346),
        # 20 minutes at 25.00: 50000 / 15 = 3333.33 -> 3333.
        (2500, 0, 1200, 3333),
        # 20 minutes at 15.00: 2000 exactly.
        (1500, 0, 1200, 2000),
        # 1201 s rounds up to 21 minutes at 15.00: 2100.
        (1500, 0, 1201, 2100),
        # No minimum applies to the credit check: 10 minutes at 15.00 is 1000.
        (1500, 0, 600, 1000),
    ],
)
def test_minimum_credit_cents_values(rate, fee_bp, seconds, cents):
    assert minimum_credit_cents(rate, fee_bp, seconds=seconds) == cents


def test_minimum_credit_cents_default_twenty_minutes():
    assert minimum_credit_cents(1700, 0) == 2267


def test_price_table_rows():
    # At 17.00 and 350 bp: 15 min 1700 + 60 (59.5); 30 min 3400 + 119;
    # 60 min 6800 + 238.
    assert price_table(1700, 350) == [
        PriceRow(15, 1700, 60, 1760),
        PriceRow(30, 3400, 119, 3519),
        PriceRow(60, 6800, 238, 7038),
    ]


def test_price_table_matches_charge():
    for row in price_table(2500, 350):
        charged = charge(row.minutes * 60, 2500, 350)
        assert charged.total_cents == row.total_cents


# Properties over small ranges, so that a brute-force search over seconds stays quick.
rates = st.integers(min_value=100, max_value=100000)
small_rates = st.integers(min_value=500, max_value=3000)
fees = st.integers(min_value=0, max_value=2000)
seconds = st.integers(min_value=0, max_value=30000)
graces = st.integers(min_value=0, max_value=120)


@given(seconds, seconds, rates, fees, st.booleans(), graces)
def test_charge_total_monotonic(first, second, rate, fee_bp, first_free, grace):
    shorter, longer = sorted((first, second))
    low = charge(shorter, rate, fee_bp, first_free=first_free, grace_seconds=grace)
    high = charge(longer, rate, fee_bp, first_free=first_free, grace_seconds=grace)
    assert low.total_cents <= high.total_cents


@given(seconds, rates, fees, st.booleans())
def test_charge_fee_line_adds_up(billed, rate, fee_bp, first_free):
    result = charge(billed, rate, fee_bp, first_free=first_free)
    assert result.total_cents == result.subtotal_cents + result.fee_cents
    assert result.fee_cents == round_half_up_div(result.subtotal_cents * fee_bp, 10000)
    assert result.subtotal_cents == round_half_up_div(result.minutes_charged * rate, 15)


@given(seconds, rates, fees)
def test_charge_first_free_never_costs_more(billed, rate, fee_bp):
    paid = charge(billed, rate, fee_bp)
    free = charge(billed, rate, fee_bp, first_free=True)
    assert free.total_cents <= paid.total_cents


@given(seconds, rates, fees, st.booleans())
def test_charge_minutes_cover_billed_time(billed, rate, fee_bp, first_free):
    result = charge(billed, rate, fee_bp, first_free=first_free)
    if result.invoiced:
        assert (result.minutes_charged + result.free_minutes) * 60 >= billed


# With credit at most 15.00 and rates of at least 5.00, no answer exceeds
# 15 free + 1500.5 * 15 / 500 minutes, about 61 minutes, and caps stay at most 70 minutes,
# both inside BRUTE_FORCE_SECONDS.
BRUTE_FORCE_SECONDS = 4500


def _brute_force_affordable(credit, rate, fee_bp, first_free, cap, grace):
    best = 0
    fits_last = False
    for billed in range(BRUTE_FORCE_SECONDS):
        total = charge(billed, rate, fee_bp, first_free=first_free, grace_seconds=grace)
        fits_cap = cap is None or billed <= cap * 60
        fits_last = total.total_cents <= credit and fits_cap
        if fits_last:
            best = billed
    # The search covered enough seconds only if the last one no longer fits.
    assert not fits_last
    return best


@given(
    st.integers(min_value=0, max_value=1500),
    small_rates,
    fees,
    st.booleans(),
    st.none() | st.integers(min_value=0, max_value=70),
    graces,
)
def test_affordable_seconds_equals_brute_force(credit, rate, fee_bp, first_free, cap, grace):
    expected = _brute_force_affordable(credit, rate, fee_bp, first_free, cap, grace)
    result = affordable_seconds(
        credit, rate, fee_bp, first_free=first_free, cap_minutes=cap, grace_seconds=grace
    )
    assert result == expected


@given(
    st.integers(min_value=0, max_value=10**7),
    rates,
    fees,
    st.booleans(),
    st.none() | st.integers(min_value=0, max_value=10000),
    graces,
)
def test_affordable_seconds_fits_and_is_largest(credit, rate, fee_bp, first_free, cap, grace):
    result = affordable_seconds(
        credit, rate, fee_bp, first_free=first_free, cap_minutes=cap, grace_seconds=grace
    )
    fitting = charge(result, rate, fee_bp, first_free=first_free, grace_seconds=grace)
    beyond = charge(result + 1, rate, fee_bp, first_free=first_free, grace_seconds=grace)
    if cap is not None:
        assert result <= cap * 60
    if result > 0 or grace > 0:
        assert fitting.total_cents <= credit
    stopped_by_cap = cap is not None and result == cap * 60
    if not stopped_by_cap:
        assert beyond.total_cents > credit


@given(
    st.integers(min_value=0, max_value=10**6),
    st.integers(min_value=0, max_value=10**6),
    rates,
    fees,
    st.booleans(),
)
def test_affordable_seconds_monotonic_in_credit(first, second, rate, fee_bp, first_free):
    less, more = sorted((first, second))
    low = affordable_seconds(less, rate, fee_bp, first_free=first_free)
    high = affordable_seconds(more, rate, fee_bp, first_free=first_free)
    assert low <= high


@given(st.integers(min_value=0, max_value=10**6), rates, fees, st.integers(0, 10000))
def test_affordable_seconds_cap_respected(credit, rate, fee_bp, cap):
    assert affordable_seconds(credit, rate, fee_bp, cap_minutes=cap) <= cap * 60


@given(rates, fees, st.integers(min_value=900, max_value=30000))
def test_minimum_credit_buys_its_seconds(rate, fee_bp, needed):
    # Credit of minimum_credit_cents(seconds) affords at least those seconds, once the
    # 15-minute minimum is no larger than them.
    credit = minimum_credit_cents(rate, fee_bp, seconds=needed)
    assert affordable_seconds(credit, rate, fee_bp) >= needed


def test_charge_returns_charge_type():
    assert isinstance(charge(60, 2000, 0), Charge)
