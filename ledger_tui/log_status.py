"""What the run detail says of the log it shows: which attempt, and how it ended (no Textual).

A finished attempt's log is not "following": the status line says how the attempt ended, and a
step that never ran says why (skipped, canceled, reused, waiting).
"""

from __future__ import annotations

import signal
from collections.abc import Sequence
from dataclasses import dataclass

from engine.ledger.records import Attempt, StepState
from engine.states import AttemptStatus, ErrorCode, StepStatus
from ledger_tui import format as fmt


@dataclass(frozen=True)
class LogChoice:
    """Whose log the run detail asks for: a step (None: the query's default) and an attempt
    (None: the latest). `serial` grows with every choice, so a result read for an earlier
    choice is recognised and dropped."""

    step_id: str | None = None
    attempt: int | None = None
    serial: int = 0

    def choose(self, step_id: str | None, attempt: int | None = None) -> LogChoice:
        return LogChoice(step_id, attempt, self.serial + 1)


def pick_attempt(
    attempts: Sequence[Attempt], step_id: str | None, number: int | None
) -> Attempt | None:
    """The attempt `number` of `step_id` (its latest when None or unknown)."""
    mine = [a for a in attempts if a.step_id == step_id]
    for attempt in mine:
        if attempt.attempt == number:
            return attempt
    return mine[-1] if mine else None


def attempt_title(step_id: str | None, attempt: Attempt | None, attempts_total: int) -> str:
    """`test attempt 2 of 3`, or the bare step id before its first attempt; where a cluster
    ran it follows (`on gpu-7 (tcp://10.0.0.7:40331) after 2.0s queued`)."""
    if step_id is None:
        return ""
    if attempt is None:
        return step_id
    title = f"{step_id} attempt {attempt.attempt}"
    if attempts_total > 1:
        title += f" of {attempts_total}"
    if attempt.worker is not None:
        title += f" on {attempt.host} ({attempt.worker})"
        if attempt.placed_at is not None:
            waited = round(max(0.0, attempt.placed_at - attempt.started_at) * 1000)
            title += f" after {fmt.duration(waited)} queued"
    return title


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def ended(attempt: Attempt, why: str | None = None) -> str:
    """How a finished attempt ended, in a few words: `succeeded (exit 0) in 1.2s`; `why` is its
    step's reason, said of a canceled attempt whose own message only repeats "canceled"."""
    took = f" in {fmt.duration(attempt.duration_ms)}" if attempt.duration_ms is not None else ""
    code = attempt.error_code
    if attempt.status is AttemptStatus.SUCCEEDED:
        exit_code = attempt.exit_code if attempt.exit_code is not None else 0
        return f"finished: succeeded (exit {exit_code}){took}"
    if code == ErrorCode.TIMEOUT:
        return f"timed out{took}"
    if attempt.status is AttemptStatus.CANCELED or code == ErrorCode.CANCELED:
        said = attempt.message if attempt.message not in (None, "", "canceled") else why
        return f"canceled{took}" + (f": {said}" if said else "")
    if attempt.status is AttemptStatus.ABANDONED:
        return "abandoned: the engine that ran it died"
    if code == ErrorCode.SPAWN_FAILED:
        return f"failed to start: {attempt.message or 'spawn failed'}"
    if attempt.signal:
        return f"failed: killed by {_signal_name(attempt.signal)}{took}"
    if attempt.exit_code not in (None, 0):
        return f"failed: exit {attempt.exit_code}{took}"
    return f"failed: {attempt.message or code or 'unknown error'}{took}"


def not_started(step: StepState | None) -> str:
    """Why a step has no attempt (so no log) yet, or never will."""
    if step is None:
        return "No steps."
    reason = f": {step.reason}" if step.reason else ""
    if step.status is StepStatus.SKIPPED:
        return f"skipped{reason or ': its condition was false'}"
    if step.status is StepStatus.CANCELED:
        return f"canceled before it started{reason}"
    if step.status is StepStatus.REUSED:
        return f"reused from an earlier run{reason}; it did not run here"
    if step.status is StepStatus.READY:
        return "not started yet: waiting for a free slot"
    if step.status is StepStatus.PENDING:
        return "not started yet: waiting for its dependencies"
    return f"{step.status}{reason}; no attempt recorded"


def log_state(step: StepState | None, attempt: Attempt | None) -> str | None:
    """The status line's words, or None while the attempt runs (its log is being followed)."""
    if attempt is None:
        return not_started(step)
    if attempt.finished_at is None:
        return None
    last = step is not None and attempt.attempt == step.attempts  # the step's reason is its last's
    return ended(attempt, step.reason if last and step is not None else None)
