"""What a run gave: `RunResult`, its steps, and `ExecutionError` with a code from a stable set.

Built from the ledger once the run is over, so it says what `engine show` would say. What happens
during a run is never raised: a failed, canceled or crashed run is a result with an `error`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from engine.states import ErrorCode, ExitCode, RunStatus, StepStatus

Severity = Literal["warn", "error", "fatal"]

# Run-level codes beside the attempt codes of engine.states.ErrorCode (docs/python.md lists all).
DEADLINE_EXCEEDED = "deadline_exceeded"
RUN_TIMEOUT = "run_timeout"
CANCELED = "canceled"
CRASHED = "crashed"
LEDGER_ERROR = "ledger_error"
STEP_FAILED = "step_failed"  # a step failed without an attempt code of its own
GROUP_BUSY = "group_busy"  # wait_for_group=False (--no-wait) and the concurrency group is taken

# A resume re-runs what did not succeed: it can help unless the plan or the system must change.
_NOT_RECOVERABLE = {
    str(ErrorCode.SPAWN_FAILED),
    str(ErrorCode.OUTPUT_MISSING),
    str(ErrorCode.OUTPUT_TOO_LARGE),
    str(ErrorCode.CONDITION_ERROR),
    str(ErrorCode.NO_WORKER),
    LEDGER_ERROR,
}
_SEVERITY: dict[RunStatus, Severity] = {
    RunStatus.PARTIAL: "warn",
    RunStatus.CANCELED: "warn",
    RunStatus.FAILED: "error",
    RunStatus.CRASHED: "fatal",
}


@dataclass(frozen=True)
class ExecutionError:
    """Why a run did not succeed: a stable `code`, a sentence, and whether a resume could help."""

    code: str
    message: str
    step_id: str | None
    severity: Severity
    recoverable: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "step_id": self.step_id,
            "severity": self.severity,
            "recoverable": self.recoverable,
        }


@dataclass(frozen=True)
class StepResult:
    """One step of a finished run: its status, attempts and the last attempt's codes."""

    id: str
    status: StepStatus
    attempts: int
    error_code: str | None
    exit_code: int | None
    duration_ms: int | None
    is_hook: bool
    reason: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": str(self.status),
            "attempts": self.attempts,
            "error_code": self.error_code,
            "exit_code": self.exit_code,
            "duration_ms": self.duration_ms,
            "is_hook": self.is_hook,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class RunResult:
    """A finished run; `error` is None exactly when it succeeded. `to_dict()` is its JSON."""

    run_id: str
    status: RunStatus
    exit_code: int
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None
    steps_total: int
    steps_executed: int
    steps_succeeded: int
    steps_failed: int
    steps_skipped: int
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)  # masked, as stored
    steps: dict[str, StepResult] = field(default_factory=dict)  # plan order, hooks last
    error: ExecutionError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values, times as ISO-8601 UTC text like every `--json` record."""
        from engine.ledger.json_shapes import iso

        return {
            "run_id": self.run_id,
            "status": str(self.status),
            "exit_code": self.exit_code,
            "started_at": None if self.started_at is None else iso(self.started_at.timestamp()),
            "finished_at": None if self.finished_at is None else iso(self.finished_at.timestamp()),
            "duration_ms": self.duration_ms,
            "steps_total": self.steps_total,
            "steps_executed": self.steps_executed,
            "steps_succeeded": self.steps_succeeded,
            "steps_failed": self.steps_failed,
            "steps_skipped": self.steps_skipped,
            "outputs": {step: dict(values) for step, values in self.outputs.items()},
            "steps": {step_id: step.to_dict() for step_id, step in self.steps.items()},
            "error": None if self.error is None else self.error.to_dict(),
        }


def _when(at: float | None) -> datetime | None:
    return None if at is None else datetime.fromtimestamp(at, UTC)


def read_result(
    ledger_path: Path, run_id: str, exit_code: int, stopped_by: str | None
) -> RunResult:
    """The result of a finished run, read back from the ledger in one snapshot."""
    from engine.ledger.reader import LedgerReader

    with LedgerReader.open(ledger_path) as reader, reader.snapshot():
        detail = reader.get_run(run_id)
        assert detail is not None, f"run {run_id} is not in {ledger_path}"
        states = reader.run_steps(run_id)
        last = {a.step_id: a for a in reader.attempts(run_id)}  # started order: the last wins
        stored = reader.outputs(run_id)
    steps: dict[str, StepResult] = {}
    for state in states:
        attempt = last.get(state.step_id)
        steps[state.step_id] = StepResult(
            id=state.step_id, status=state.status, attempts=state.attempts,
            error_code=None if attempt is None else attempt.error_code,
            exit_code=None if attempt is None else attempt.exit_code,
            duration_ms=state.duration_ms, is_hook=state.is_hook, reason=state.reason,
        )  # fmt: skip
    outputs: dict[str, dict[str, str]] = {}
    for output in stored:
        outputs.setdefault(output.step_id, {})[output.name] = output.value
    run = detail.summary
    dag = [step for step in steps.values() if not step.is_hook]
    return RunResult(
        run_id=run_id,
        status=run.status,
        exit_code=exit_code,
        started_at=_when(run.started_at or run.created_at),
        finished_at=_when(run.finished_at),
        duration_ms=run.duration_ms,
        steps_total=run.steps_total,
        steps_executed=sum(1 for step in dag if step.attempts > 0),
        steps_succeeded=sum(1 for step in dag if step.status is StepStatus.SUCCEEDED),
        steps_failed=sum(1 for step in dag if step.status is StepStatus.FAILED),
        steps_skipped=sum(1 for step in dag if step.status is StepStatus.SKIPPED),
        outputs=outputs,
        steps=steps,
        error=run_error(run.status, run.error, stopped_by, dag, busy=exit_code == ExitCode.BUSY),
    )


def run_error(
    status: RunStatus,
    message: str | None,
    stopped_by: str | None,
    dag: list[StepResult],
    *,
    busy: bool = False,
) -> ExecutionError | None:
    """The error of a run that did not succeed: what stopped it, else the step that failed it."""
    if status is RunStatus.SUCCEEDED:
        return None
    text = message or f"the run {status}"
    step_id: str | None = None
    if status is RunStatus.CRASHED:
        code = CRASHED
    elif busy:
        code = GROUP_BUSY
    elif stopped_by == "timeout":
        code = RUN_TIMEOUT
    elif stopped_by is not None:  # canceled, deadline_exceeded: engine.run.stopping.StopCause
        code = stopped_by
    elif status is RunStatus.CANCELED:
        code = CANCELED
    else:
        culprit = _first(dag, StepStatus.FAILED) or _first(dag, StepStatus.CANCELED)
        step_id = None if culprit is None else culprit.id
        code = (culprit.error_code if culprit else None) or STEP_FAILED
        if culprit is not None and culprit.reason and culprit.reason not in text:
            text = f"{text}: {culprit.reason}"
    return ExecutionError(
        code=code, message=text, step_id=step_id, severity=_SEVERITY.get(status, "error"),
        recoverable=code not in _NOT_RECOVERABLE,
    )  # fmt: skip


def _first(steps: list[StepResult], status: StepStatus) -> StepResult | None:
    return next((step for step in steps if step.status is status), None)


def ledger_failure(run_id: str, message: str) -> RunResult:
    """A run whose ledger failed under it (disk full, the file removed): what can be said."""
    return RunResult(
        run_id=run_id, status=RunStatus.CRASHED, exit_code=3, started_at=None, finished_at=None,
        duration_ms=None, steps_total=0, steps_executed=0, steps_succeeded=0, steps_failed=0,
        steps_skipped=0,
        error=ExecutionError(LEDGER_ERROR, message, None, "fatal", recoverable=False),
    )  # fmt: skip
