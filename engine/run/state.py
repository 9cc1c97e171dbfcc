"""The per-run state of one step, and how a finished attempt, and a finished run, are judged."""

from __future__ import annotations

import asyncio
import signal as signals
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.executors.base import AttemptHandle, AttemptResult
from engine.humanize import plural
from engine.plan.spec import OnFailure, Step
from engine.states import AttemptStatus, ErrorCode, RunStatus, StepStatus

if TYPE_CHECKING:  # the condition language is imported only by plans that use it
    from engine.plan.expressions import Expression


@dataclass(eq=False)
class ScheduledStep:
    """A step within one run: its progress through the DAG and what its dependents may read."""

    spec: Step  # as the plan gives it
    group: str
    waiting: int  # dependencies not yet final
    condition: Expression | None = None
    skip_ifs: tuple[Expression, ...] = ()
    status: StepStatus = StepStatus.PENDING
    attempt: int = 0
    exit_code: int | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    ok: bool = False  # dependents may proceed as if it succeeded
    handle: AttemptHandle | None = None
    cancel_requested: bool = False
    cancel_reason: str = "canceled by request"  # or why a matrix's fail_fast canceled it
    standby: bool = False  # a fallback that runs only when its primary fails
    primary: ScheduledStep | None = None  # set on a fallback once it stands in
    wake: asyncio.Event | None = None  # set while sleeping out a retry delay

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def policy(self) -> OnFailure:
        return (self.primary or self).spec.on_failure

    @property
    def critical(self) -> bool:
        return (self.primary or self).spec.critical

    def outcome_data(self, reason: str | None) -> dict[str, object]:
        """The data of this step's outcome event (its status is already set)."""
        data: dict[str, object] = {"attempts": self.attempt}
        if self.exit_code is not None:
            data["exit_code"] = self.exit_code
        data["status"] = str(self.status)
        if reason is not None:
            data["reason"] = reason
        return data

    def view(self) -> dict[str, Any]:
        """What conditions see of this step (docs/conditions.md, "What the names hold")."""
        return {
            "status": str(self.status),
            "exit_code": self.exit_code,
            "outputs": self.outputs,
            "ok": self.ok,
        }


@dataclass(frozen=True)
class Verdict:
    status: AttemptStatus
    error: ErrorCode | None
    message: str | None


def judge(result: AttemptResult, step: Step) -> Verdict:
    """The attempt's status and error code from what the executor saw."""
    if result.lost is not None:
        return Verdict(AttemptStatus.FAILED, ErrorCode.WORKER_LOST, result.lost)
    if result.spawn_error is not None:
        code = ErrorCode.NO_WORKER if result.no_worker else ErrorCode.SPAWN_FAILED
        return Verdict(AttemptStatus.FAILED, code, result.spawn_error)
    if result.timed_out:
        return Verdict(AttemptStatus.FAILED, ErrorCode.TIMEOUT, "timed out")
    if result.canceled:
        return Verdict(AttemptStatus.CANCELED, ErrorCode.CANCELED, "canceled")
    if result.log_error is not None:
        # Before the exit status: a step that cannot write its output usually fails because of it,
        # and one that succeeded anyway did so with a log nobody can trust.
        return Verdict(AttemptStatus.FAILED, ErrorCode.LOG_WRITE_FAILED, _log_failure(result))
    if result.signal is not None:
        name = _signal_name(result.signal)
        return Verdict(AttemptStatus.FAILED, ErrorCode.SIGNALED, f"killed by {name}")
    if result.exit_code in step.success_exit_codes:
        return Verdict(AttemptStatus.SUCCEEDED, None, None)
    return Verdict(AttemptStatus.FAILED, ErrorCode.EXIT_NONZERO, f"exit code {result.exit_code}")


ERROR_NAMES_MAX = 5  # runs.error stays one readable sentence; `engine show` lists every step


def judge_run(
    stop_outcome: RunStatus | None,
    stop_reason: str | None,
    failed: list[tuple[ScheduledStep, StepStatus]],
) -> tuple[RunStatus, str | None]:
    """The run's outcome (docs/plans.md, "Failure policies") once its steps are final: a stop
    decides it (cancel, abort, timeout); else a failed critical or `abort` step fails it, and any
    other failure makes it partial. `failed` holds each failed or canceled step, with its primary
    in a fallback's place."""
    if stop_outcome is not None:
        return stop_outcome, stop_reason
    fatal = [
        step
        for step, status in failed
        if step.spec.critical or (status is StepStatus.FAILED and step.policy is OnFailure.ABORT)
    ]
    if fatal:
        return RunStatus.FAILED, f'step "{fatal[0].id}" failed'
    if failed:
        # A canceled step did not fail: the sentence names the two kinds apart.
        failures = [step.id for step, status in failed if status is not StepStatus.CANCELED]
        canceled = [step.id for step, status in failed if status is StepStatus.CANCELED]
        parts = [
            f"steps {word}: {_step_names(ids)}"
            for word, ids in (("failed", failures), ("canceled", canceled))
            if ids
        ]
        return RunStatus.PARTIAL, "; ".join(parts)
    return RunStatus.SUCCEEDED, None


def _step_names(ids: list[str]) -> str:
    """`"a", "b" and 3 more`: at most ERROR_NAMES_MAX names."""
    names = ", ".join(f'"{step_id}"' for step_id in ids[:ERROR_NAMES_MAX])
    more = len(ids) - ERROR_NAMES_MAX
    return names + (f" and {more} more" if more > 0 else "")


def _log_failure(result: AttemptResult) -> str:
    lost = "some output"
    if result.log_bytes_lost is not None:
        lost = f"{plural(result.log_bytes_lost, 'byte')} of output"
    if result.signal is not None:
        ended = f"killed by {_signal_name(result.signal)}"
    else:
        ended = f"exit code {result.exit_code}"
    return f"cannot write the log ({result.log_error}): {lost} lost; {ended}"


def _signal_name(number: int) -> str:
    try:
        return signals.Signals(number).name
    except ValueError:
        return f"signal {number}"


@dataclass(frozen=True)
class RunSettings:
    run_id: str
    max_concurrency: int
    logs_dir: Path  # <ledger>/logs/<run_id>
    # Where steps write $ENGINE_OUTPUT: the run's private scratch dir (engine/ledger/scratch.py), as
    # a step writes raw values there (secrets included) before the engine masks them.
    outputs_dir: Path
    mask_values: tuple[str, ...] = ()
    ledger_path: Path | None = None  # where a plan step's child run is recorded
    # Resume: steps taken from an earlier run as they were, with their outputs (step id -> outputs).
    reused: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    resumed_from: str | None = None
    # The step cache: steps whose cache is not read (`--force [STEP]`; "*" is every step).
    force: frozenset[str] = frozenset()
