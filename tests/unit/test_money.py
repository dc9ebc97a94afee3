"""Unit tests of parsing, formatting and rounding amounts of money."""

import pytest

from webapp.domain.money import (
    MAX_AMOUNT_CENTS,
    format_amount,
    format_major_units,
    parse_amount,
    round_half_up_div,
)


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("0", 0),
        ("20", 2000),
        ("20.5", 2050),
        ("20.05", 2005),
        ("20.00", 2000),
        ("0.01", 1),
        ("0.5", 50),
        ("007", 700),
        ("  20.00\n", 2000),
        ("1000", 100000),
        ("1,000", 100000),
        ("1,000.00", 100000),
        ("12,345.67", 1234567),
        ("1,234,567.89", 123456789),
        ("999,999,999,999.99", MAX_AMOUNT_CENTS),
        ("999999999999.99", MAX_AMOUNT_CENTS),
    ],
)
def test_parse_amount_valid(text, cents):
    assert parse_amount(text) == cents


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_parse_amount_empty(text):
    with pytest.raises(ValueError, match="Enter an amount"):
        parse_amount(text)


@pytest.mark.parametrize("text", ["-5", "-5.00", "-1,000.50", "-0"])
def test_parse_amount_negative(text):
    with pytest.raises(ValueError, match="must not be negative"):
        parse_amount(text)


@pytest.mark.parametrize("text", ["20.005", "20.000", "0.001", "1,000.123"])
def test_parse_amount_three_decimals(text):
    with pytest.raises(ValueError, match="more than two decimals"):
        parse_amount(text)


@pytest.mark.parametrize(
    "text",
    [
        "abc",
        "20 USD",
        "$20",
        "+20",
        "20.",
        ".50",
        "1.2.3",
        "2 0",
        "1e3",
        "NaN",
        "inf",
        "0x10",
        "20.a",
        "-abc",
        "-",
        "\uff12\uff10",  # full-width digits are not ASCII digits
        "\u0662\u0660",  # Arabic-Indic digits
        "20_000",
    ],
)
def test_parse_amount_not_a_number(text):
    with pytest.raises(ValueError, match="not a number"):
        parse_amount(text)


@pytest.mark.parametrize(
    "text", ["1,00", "20,50", "1000,000", ",100", "1,,000", "0,100", "1,000,00"]
)
def test_parse_amount_misplaced_comma(text):
    with pytest.raises(ValueError, match="Commas may only separate thousands"):
        parse_amount(text)


def test_parse_amount_too_long():
    with pytest.raises(ValueError, match="too long"):
        parse_amount("1" * 33)


def test_parse_amount_long_zero_padding():
    with pytest.raises(ValueError, match="too long"):
        parse_amount("0" * 40 + "1")


def test_parse_amount_too_large():
    with pytest.raises(ValueError, match=r"too large: the maximum is 999,999,999,999\.99"):
        parse_amount("1,000,000,000,000")


def test_parse_amount_message_quotes_input():
    with pytest.raises(ValueError, match="'abc'"):
        parse_amount("abc")


def test_parse_amount_rejects_non_str():
    with pytest.raises(TypeError):
        parse_amount(20)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("cents", "text"),
    [
        (0, "0.00 USD"),
        (1, "0.01 USD"),
        (50, "0.50 USD"),
        (2000, "20.00 USD"),
        (123450, "1,234.50 USD"),
        (100000000, "1,000,000.00 USD"),
        (-1, "-0.01 USD"),
        (-123450, "-1,234.50 USD"),
    ],
)
def test_format_amount_usd(cents, text):
    assert format_amount(cents) == text


@pytest.mark.parametrize(
    ("cents", "text"),
    [(0, "0.00"), (5, "0.05"), (170000, "1,700.00"), (-2050, "-20.50")],
)
def test_format_major_units_values(cents, text):
    assert format_major_units(cents) == text


def test_format_amount_other_currency():
    assert format_amount(123450, "EUR") == "1,234.50 EUR"


@pytest.mark.parametrize("currency", ["usd", "US", "USDT", "", "€"])
def test_format_amount_bad_currency(currency):
    with pytest.raises(ValueError, match="ISO 4217"):
        format_amount(100, currency)


@pytest.mark.parametrize("cents", [1.5, "100", True, None])
def test_format_amount_rejects_non_int(cents):
    with pytest.raises(TypeError):
        format_amount(cents)  # type: ignore[arg-type]


@pytest.mark.parametrize("cents", [0, 1, 99, 100, 2050, 123456789, MAX_AMOUNT_CENTS])
def test_format_parse_round_trip(cents):
    assert parse_amount(format_amount(cents).removesuffix(" USD")) == cents


@pytest.mark.parametrize(
    ("numerator", "denominator", "quotient"),
    [
        (0, 15, 0),
        (14, 15, 1),  # 0.93 rounds up
        (7, 15, 0),  # 0.47 rounds down
        (5, 10, 1),  # exactly 0.5 rounds up
        (15, 10, 2),  # exactly 1.5 rounds up
        (25, 10, 3),  # exactly 2.5 rounds up, unlike banker's rounding
        (24, 10, 2),
        (27200, 15, 1813),  # 1813.33
        (34000, 15, 2267),  # 2266.67
        (595000, 10000, 60),  # 59.5
        (634550, 10000, 63),  # 63.455
        (10**30 + 1, 2, 5 * 10**29 + 1),  # exact for integers far beyond float precision
    ],
)
def test_round_half_up_div_values(numerator, denominator, quotient):
    assert round_half_up_div(numerator, denominator) == quotient


def test_round_half_up_div_negative_numerator():
    with pytest.raises(ValueError, match="numerator must not be negative"):
        round_half_up_div(-1, 15)


@pytest.mark.parametrize("denominator", [0, -15])
def test_round_half_up_div_bad_denominator(denominator):
    with pytest.raises(ValueError, match="denominator must be positive"):
        round_half_up_div(1, denominator)


def test_round_half_up_div_rejects_float():
    with pytest.raises(TypeError):
        round_half_up_div(1.5, 1)  # type: ignore[arg-type]
