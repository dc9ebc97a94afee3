"""Amounts of money as integer cents: parsing what people type, formatting, rounding."""

import re

# Amounts are typed in major units with at most two decimals. Commas may group the integer
# part by thousands ("1,234.50"), but only in the right places, so "1,00" is rejected rather
# than read as 1.00 or 100.
_PLAIN = re.compile(r"[0-9]+")
_GROUPED = re.compile(r"[1-9][0-9]{0,2}(?:,[0-9]{3})+")
_DECIMALS = re.compile(r"[0-9]{1,2}")

# A guard against absurd input before any parsing. The longest valid amount has 18 characters.
MAX_AMOUNT_CHARS = 32
# 999,999,999,999.99 fits a signed 64-bit column in cents with a wide margin.
MAX_AMOUNT_CENTS = 10**14 - 1

_CURRENCY_CODE = re.compile(r"[A-Z]{3}")


def parse_amount(text: str) -> int:
    """Parse an amount typed in major units, such as "20", "20.5" or "1,234.50", into cents.

    Raises ValueError with a message a person can act on when the text is empty, too long,
    negative, has more than two decimals or is not a number.
    """
    if not isinstance(text, str):
        raise TypeError(f"amount must be a str, not {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        raise ValueError("Enter an amount, such as 20.00.")
    if len(stripped) > MAX_AMOUNT_CHARS:
        raise ValueError("The amount is too long. Enter an amount such as 20.00.")

    if stripped.startswith("-"):
        # Parse the rest so that "-5" gets the negative message and "-abc" the generic one.
        _parse_unsigned(stripped[1:], original=stripped)
        raise ValueError("The amount must not be negative.")
    cents = _parse_unsigned(stripped, original=stripped)
    if cents > MAX_AMOUNT_CENTS:
        raise ValueError(
            f"The amount {stripped!r} is too large: the maximum is "
            f"{format_major_units(MAX_AMOUNT_CENTS)}."
        )
    return cents


def _parse_unsigned(text: str, *, original: str) -> int:
    """Parse an amount without a sign into cents, raising ValueError that quotes `original`."""
    integer_part, point, decimal_part = text.partition(".")
    if point and _PLAIN.fullmatch(decimal_part) and len(decimal_part) > 2:
        raise ValueError(
            f"The amount {original!r} has more than two decimals. Use at most two, such as 20.05."
        )

    if _PLAIN.fullmatch(integer_part):
        digits = integer_part
    elif _GROUPED.fullmatch(integer_part):
        digits = integer_part.replace(",", "")
    elif "," in integer_part:
        raise ValueError(
            f"The amount {original!r} is not valid. Commas may only separate thousands, "
            "as in 1,000.00, and decimals follow a point, as in 20.50."
        )
    else:
        raise ValueError(f"The amount {original!r} is not a number. Enter an amount such as 20.00.")

    if point and not _DECIMALS.fullmatch(decimal_part):
        raise ValueError(f"The amount {original!r} is not a number. Enter an amount such as 20.00.")
    # "20.5" means 20.50, so a single decimal is tens of cents.
    cents_part = int(decimal_part.ljust(2, "0")) if point else 0
    return int(digits) * 100 + cents_part


def format_amount(cents: int, currency: str = "USD") -> str:
    """Format cents as major units with thousands commas and the currency code, like "1,234.50 USD".

    Every currency, USD included, uses this one form, and a negative amount starts with a minus.
    """
    if isinstance(cents, bool) or not isinstance(cents, int):
        raise TypeError(f"cents must be an int, not {type(cents).__name__}")
    if not isinstance(currency, str) or not _CURRENCY_CODE.fullmatch(currency):
        raise ValueError(
            f"currency must be a three-letter ISO 4217 code such as USD, not {currency!r}"
        )
    return f"{format_major_units(cents)} {currency}"


def format_major_units(cents: int) -> str:
    """Format cents as major units with thousands commas and no currency code, like "1,234.50"."""
    sign = "-" if cents < 0 else ""
    major, minor = divmod(abs(cents), 100)
    return f"{sign}{major:,}.{minor:02d}"


def round_half_up_div(numerator: int, denominator: int) -> int:
    """Divide two non-negative integers and round the quotient to the nearest integer, halves up."""
    for name, value in (("numerator", numerator), ("denominator", denominator)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if numerator < 0:
        raise ValueError(f"numerator must not be negative, got {numerator}")
    if denominator <= 0:
        raise ValueError(f"denominator must be positive, got {denominator}")
    # floor(n / d + 1/2) in integers: floor((2n + d) / 2d).
    return (2 * numerator + denominator) // (2 * denominator)
