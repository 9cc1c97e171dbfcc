"""A run's deadline: an absolute time at which it is cut like a run timeout.

Given as an aware datetime (Python) or `--deadline 2026-12-05T06:00Z` / `+45m` (CLI). One already
past is refused before a run row exists; one sooner than the plan's `timeout_sec` or than its
runs usually take (the ledger's history) is run with a warning naming both figures.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import UserError

if TYPE_CHECKING:
    from engine.plan.spec import LoadedPlan

_RELATIVE = re.compile(r"\+(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
CODE = "deadline_exceeded"


class DeadlineWarning(UserWarning):
    """The deadline leaves less time than the plan's timeout or its usual duration."""


def parse_deadline(text: str, now: float | None = None) -> datetime:
    """`+45m`, `+1h30m`, `+90s` from now, or an ISO-8601 time (`2026-12-05T06:00Z`; local time
    without an offset); UserError otherwise."""
    text = text.strip()
    start = time.time() if now is None else now
    relative = _RELATIVE.fullmatch(text)
    if relative and any(relative.groups()):
        hours, minutes, seconds = (int(part or 0) for part in relative.groups())
        delta = timedelta(hours=hours, minutes=minutes, seconds=seconds)
        return datetime.fromtimestamp(start, UTC) + delta
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise UserError(
            f"--deadline {text!r}: expected an ISO-8601 time (2026-12-05T06:00Z) or +45m"
        ) from None
    return when if when.tzinfo is not None else when.astimezone()


def seconds_left(deadline: datetime, now: float | None = None) -> float:
    """Seconds from now to `deadline`; UserError for a naive datetime or one already past."""
    if deadline.tzinfo is None or deadline.utcoffset() is None:
        raise UserError("deadline must be an aware datetime (with a tzinfo), not a naive one")
    left = deadline.timestamp() - (time.time() if now is None else now)
    if left <= 0:
        shown = deadline.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        raise UserError(f"the deadline {shown} has already passed", code=CODE)
    return left


def check_window(
    loaded: LoadedPlan, ledger_path: Path, deadline: datetime, max_concurrency: int | None
) -> list[str]:
    """Warnings when the deadline leaves less than the plan's timeout or its usual duration.

    Raises UserError (`deadline_exceeded`) when the deadline has already passed.
    """
    left = seconds_left(deadline)
    warnings: list[str] = []
    timeout = loaded.plan.globals.timeout_sec
    if timeout is not None and timeout > left:
        warnings.append(
            f"the deadline leaves {left:.0f}s, less than the plan's timeout_sec ({timeout:g}s)"
        )
    from engine.run.dryrun import expected_run_ms
    from engine.run.slots import concurrency_limit

    expected = expected_run_ms(loaded, ledger_path, concurrency_limit(loaded, max_concurrency))
    if expected is not None and expected / 1000 > left:
        warnings.append(
            f"the deadline leaves {left:.0f}s, less than runs of this plan take"
            f" ({expected / 1000:.0f}s by the ledger's history)"
        )
    return warnings
