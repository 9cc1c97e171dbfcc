"""Durations, times and counts as people read them; shared by the CLI and the dashboard."""

from __future__ import annotations

import time


def duration(ms: float | None) -> str:
    """Milliseconds as `850ms`, `12.3s`, `4m05s`, `2h03m` or `3d04h`; a dash for None."""
    if ms is None:
        return "-"
    if ms < 1000:
        return f"{int(ms)}ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """`1 step`, `0 steps`, `3 steps`; `nouns` for a plural that is not noun + "s"."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


def clock_time(at: float | None) -> str:
    """A `time.time()` value as UTC `YYYY-MM-DD HH:MM:SS`, as the ledger keeps it; "-" for None."""
    if at is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(at))


def memory(kb: int | None) -> str:
    """KiB as `812K`, `45.3M` or `2.1G`, as `top` shows resident memory; a dash for None."""
    if kb is None:
        return "-"
    if kb < 1024:
        return f"{kb}K"
    if kb < 1024 * 1024:
        return f"{kb / 1024:.1f}M"
    return f"{kb / (1024 * 1024):.1f}G"
