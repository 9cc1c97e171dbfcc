"""What the read API returns: small frozen dataclasses, one per question the dashboard and CLI ask.

Times are `time.time()` floats (UTC seconds); durations are integer milliseconds. Event types and
error codes are plain strings (values of `EventType` / `ErrorCode`) so that an older reader can
still show a ledger written by a newer engine that added a value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.ledger.owner import Owner
from engine.states import AttemptStatus, RunStatus, StepStatus


@dataclass(frozen=True)
class RunSummary:
    """One line of the run list."""

    id: str
    plan_name: str
    status: RunStatus
    created_at: float
    started_at: float | None
    finished_at: float | None
    duration_ms: int | None
    steps_total: int
    steps_done: int
    steps_failed: int
    running_step_ids: tuple[str, ...]
    resumed_from: str | None
    error: str | None
    exit_code: int | None


@dataclass(frozen=True)
class RunDetail:
    """Everything about one run except its steps, attempts and events (ask for those)."""

    summary: RunSummary
    plan_hash: str
    plan_version: str | None
    plan_path: str | None
    plan_json: str
    vars: dict[str, Any]
    owner: Owner | None

    @property
    def id(self) -> str:
        return self.summary.id

    @property
    def status(self) -> RunStatus:
        return self.summary.status


@dataclass(frozen=True)
class StepState:
    """One step of one run (a `run_steps` row)."""

    run_id: str
    step_id: str
    is_hook: bool
    status: StepStatus
    attempts: int
    started_at: float | None
    finished_at: float | None
    duration_ms: int | None
    reason: str | None


@dataclass(frozen=True)
class Attempt:
    """One attempt of one step (a `step_attempts` row)."""

    id: int
    run_id: str
    step_id: str
    attempt: int
    status: AttemptStatus
    error_code: str | None
    exit_code: int | None
    signal: int | None
    started_at: float
    finished_at: float | None
    duration_ms: int | None
    pid: int | None
    log_path: str | None
    output_tail: str | None
    retry_reason: str | None
    delay_ms: int | None
    message: str | None


@dataclass(frozen=True)
class Event:
    """One row of the append-only event stream."""

    id: int
    run_id: str
    step_id: str | None
    attempt: int | None
    type: str
    ts: float
    data: dict[str, Any] | None


@dataclass(frozen=True)
class Output:
    """One named output a step wrote to $ENGINE_OUTPUT."""

    run_id: str
    step_id: str
    attempt: int
    name: str
    value: str


@dataclass(frozen=True)
class CancelRequest:
    """A request, from `engine cancel` or the dashboard, to cancel a run or one of its steps."""

    id: int
    run_id: str
    step_id: str | None
    requested_at: float
    requested_by: str


@dataclass(frozen=True)
class DurationStats:
    """Duration percentiles of one plan (step_id None) or one step of a plan."""

    plan_name: str
    step_id: str | None
    count: int
    failure_rate: float
    retry_rate: float
    p50_ms: int | None
    p95_ms: int | None


@dataclass(frozen=True)
class Stats:
    """The overview behind the dashboard's stats view and `engine stats`."""

    since: float
    until: float
    runs_by_status: dict[RunStatus, int]
    success_rate: float | None  # succeeded / finished runs; None when none finished
    plans: tuple[DurationStats, ...]
    steps: tuple[DurationStats, ...]
    flakiest_steps: tuple[DurationStats, ...]
    slowest_steps: tuple[DurationStats, ...]
    bucket_sec: float
    attempts_per_bucket: tuple[int, ...] = field(default=())

    @property
    def runs_total(self) -> int:
        return sum(self.runs_by_status.values())
