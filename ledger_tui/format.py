"""Plain-text formatting shared by the dashboard and `ledger-tui status` (no Textual here)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

# Re-exported: the screens use them as fmt.duration and fmt.clock_time, beside the formatters below.
from engine.humanize import clock_time as clock_time
from engine.humanize import duration as duration
from engine.humanize import memory as memory
from engine.humanize import plural as plural
from engine.ledger.records import Attempt, Lease, RunDetail, RunSummary, StepState


def short_path(path: Path | str, width: int = 48, home: Path | None = None) -> str:
    """A path for a header: the home directory as `~`, the middle elided (`…`) past `width`,
    keeping the end (the file and its folders say which ledger it is)."""
    text = str(path)
    home_text = str(home if home is not None else Path.home())
    if home_text not in ("", "/") and (text == home_text or text.startswith(home_text + "/")):
        text = "~" + text[len(home_text) :]
    if len(text) <= width:
        return text
    head = max(1, (width - 1) // 3)
    tail = width - 1 - head
    return text[:head] + "…" + text[-tail:]


def short_time(at: float | None) -> str:
    """Format a timestamp as UTC `HH:MM:SS.mmm`, for event streams."""
    if at is None:
        return "-"
    return time.strftime("%H:%M:%S", time.gmtime(at)) + f".{int(at * 1000) % 1000:03d}"


def ago(at: float | None, now: float) -> str:
    """Say how long before `now` a timestamp was: `12s ago`, `3h04m ago`."""
    if at is None:
        return "-"
    return duration(max(0.0, now - at) * 1000) + " ago"


def elapsed_ms(run: RunSummary, now: float) -> float | None:
    """Return how long a run has taken: its recorded duration, or so far if it is still active."""
    if run.duration_ms is not None:
        return float(run.duration_ms)
    start = run.started_at or run.created_at
    return max(0.0, now - start) * 1000


def steps_progress(run: RunSummary) -> str:
    """Format `done/total` steps, with how many of the done ones failed or were canceled.

    A canceled step is done (it will not run) but did not succeed: `40/40 (1 failed, 27 canceled)`.
    """
    text = f"{run.steps_done}/{run.steps_total}"
    counts = [(run.steps_failed, "failed"), (run.steps_canceled, "canceled")]
    shown = ", ".join(f"{n} {word}" for n, word in counts if n)
    return f"{text} ({shown})" if shown else text


def typical_ms(durations_ms: Sequence[int | None]) -> float | None:
    """Return the median of the known durations, or None without history."""
    known = [d for d in durations_ms if d is not None]
    return float(statistics.median(known)) if known else None


def eta(run: RunSummary, typical: float | None, now: float) -> str:
    """Estimate the time left of an active run from its plan's typical duration."""
    if typical is None or run.status.is_final:
        return "-"
    left = typical - (elapsed_ms(run, now) or 0.0)
    return "~" + duration(left) if left > 0 else "overdue"


def percent(rate: float | None) -> str:
    """Format a 0..1 rate as a percentage."""
    return "-" if rate is None else f"{rate * 100:.1f}%"


def owner_gone_note(detail: RunDetail) -> str | None:
    """Say so when an active run's engine is provably gone (the dashboard never marks it crashed).

    Read-only: it asks the process table, as `engine.ledger.recovery` does, and changes nothing;
    the next `engine` command that opens the ledger marks the run crashed and kills its leftovers.
    """
    owner = detail.owner
    if detail.status.is_final or owner is None or not owner.is_gone():
        return None
    return (
        f"owner gone: the engine that ran it (pid {owner.pid} on {owner.host}) is no longer "
        "running; the next engine command (engine runs, for one) marks it crashed"
    )


def waiting_note(leases: Sequence[Lease]) -> str | None:
    """`waiting: concurrency group "deploy" (held by run 1m91…)`, for what a run waits for now."""
    parts = []
    for lease in leases:
        if lease.state != "waiting":
            continue
        what = (
            f'concurrency group "{lease.name}"'
            if lease.kind == "group"
            else (f'{lease.step_id} for pool "{lease.name}"')
        )
        held = f" (held by run {', '.join(lease.waits_for)})" if lease.waits_for else ""
        parts.append(what + held)
    return "waiting: " + "; ".join(parts) if parts else None


def circuit_notes(steps: Sequence[StepState], last: Mapping[str, Attempt]) -> list[str]:
    """`circuit open: step charge: circuit "payments-api" is open (…); next trial after …`, for
    each step whose last attempt failed fast on its open circuit breaker."""
    notes = []
    for step in steps:
        attempt = last.get(step.step_id)
        if attempt is not None and attempt.error_code == "circuit_open":
            notes.append(f"circuit open: step {step.step_id}: {attempt.message or step.reason}")
    return notes
