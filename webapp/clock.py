"""The one source of "now": timezone-aware UTC, truncated to whole milliseconds.

Tests replace the source with `use(...)` so that billing can be checked to the millisecond.
"""

from collections.abc import Callable
from datetime import UTC, datetime


def _system_now() -> datetime:
    return datetime.now(UTC)


_source: Callable[[], datetime] = _system_now


def now() -> datetime:
    """Return the current instant in UTC, truncated to milliseconds."""
    instant = _source()
    if instant.tzinfo is None:
        raise ValueError("the clock source returned a naive datetime")
    instant = instant.astimezone(UTC)
    return instant.replace(microsecond=instant.microsecond // 1000 * 1000)


def use(source: Callable[[], datetime] | None) -> None:
    """Replace the clock source (tests only); None restores the system clock."""
    global _source
    _source = source or _system_now
