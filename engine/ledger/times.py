"""Ledger timestamps: ISO-8601 UTC text with milliseconds, e.g. 2026-11-21T14:10:40.123Z.

Text in this form sorts chronologically and SQLite's date functions (julianday, strftime) read it.
"""

from __future__ import annotations

import time
from datetime import datetime

_last_second: list[tuple[int, str]] = [(-1, "")]


def to_iso(at: float) -> str:
    """Format a `time.time()` value as ledger text."""
    millis = round(at * 1000)
    seconds, ms = divmod(millis, 1000)
    # The engine formats several timestamps per step, nearly all within the same second.
    cached_second, prefix = _last_second[0]
    if seconds != cached_second:
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        _last_second[0] = (seconds, prefix)
    return f"{prefix}.{ms:03d}Z"


def from_iso(text: str) -> float:
    """Parse ledger text back into a `time.time()` value."""
    return datetime.fromisoformat(text).timestamp()


def from_iso_opt(text: str | None) -> float | None:
    """Like `from_iso`, passing None through."""
    return None if text is None else datetime.fromisoformat(text).timestamp()
