"""What the read API returns: small frozen dataclasses, one per question the dashboard and CLI ask.

Times are `time.time()` floats (UTC seconds); durations are integer milliseconds. Event types and
error codes are plain strings (values of `EventType` / `ErrorCode`) so that an older reader can
still show a ledger written by a newer engine that added a value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.ledger.owner import Owner
from engine.states import AttemptStatus, RunStatus, StepStatus


@dataclass(frozen=True)
class GroupWait:
    """An active run waiting for its concurrency group, and the runs that hold the group now."""

    group: str
    waits_for: tuple[str, ...]

    def note(self, id_chars: int | None = None) -> str:
        """`waiting for run 1m91… (concurrency group "deploy")`; ids cut to `id_chars` if given."""
        ids = [run_id[:id_chars] for run_id in self.waits_for]
        held = ("run " if len(ids) == 1 else "runs ") + ", ".join(ids) if ids else "its turn"
        return f'waiting for {held} (concurrency group "{self.group}")'


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
    steps_canceled: int = 0  # canceled steps (hooks aside), counted in steps_done
    tags: tuple[str, ...] = ()  # the plan's
    # Derived, not a ledger status: a `running` run that has not got its concurrency group yet.
    waiting: GroupWait | None = None
    parent_run_id: str | None = None  # the run whose plan step started this one (sub-plans)

    @property
    def display_status(self) -> str:
        """The status to show: the ledger's, or `waiting` while the run waits for its group."""
        return "waiting" if self.waiting is not None else str(self.status)


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
class ChildRun:
    """A run that a plan step started (docs/plans.md, "Sub-plans")."""

    step_id: str
    run_id: str
    status: RunStatus


@dataclass(frozen=True)
class RunLinks:
    """A run's place among sub-plans: the plan step that ran it, and the runs it ran."""

    parent_run_id: str | None
    parent_step_id: str | None
    children: tuple[ChildRun, ...]


@dataclass(frozen=True)
class StepState:
    """One step of one run (a `run_steps` row)."""

    run_id: str
    step_id: str
    position: int  # plan order; hooks come after the steps
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
    # From wait4's rusage of the main process (and the descendants it waited for); None while
    # running, for an attempt that never started, or in a ledger written before these existed.
    cpu_user_ms: int | None = None
    cpu_sys_ms: int | None = None
    max_rss_kb: int | None = None  # peak resident memory of the largest such process
    # Where a cluster ran it and when a worker started it (started_at is its submission); None
    # for a local attempt.
    host: str | None = None
    worker: str | None = None
    placed_at: float | None = None

    @property
    def cpu_ms(self) -> int | None:
        """User plus system CPU time, when both were measured."""
        if self.cpu_user_ms is None or self.cpu_sys_ms is None:
            return None
        return self.cpu_user_ms + self.cpu_sys_ms


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
class PlanStats:
    """Outcomes and durations of the finished runs of one plan."""

    plan_name: str
    runs: int
    failure_rate: float  # failed or crashed / finished (partial and canceled are not failures)
    p50_ms: int | None  # nearest-rank percentiles of succeeded runs
    p95_ms: int | None


@dataclass(frozen=True)
class StepStats:
    """Outcomes and durations of one step of one plan, over the runs that finished it."""

    plan_name: str
    step_id: str
    runs: int  # times the step finished succeeded or failed
    failure_rate: float
    retry_rate: float  # share of those that needed more than one attempt
    p50_ms: int | None  # nearest-rank percentiles of succeeded steps, retries included
    p95_ms: int | None


@dataclass(frozen=True)
class Stats:
    """The overview behind the dashboard's stats view and `engine stats`."""

    since: float
    until: float
    runs_by_status: dict[RunStatus, int]
    success_rate: float | None  # succeeded / finished runs; None when none finished
    plans: tuple[PlanStats, ...]
    steps: tuple[StepStats, ...]
    flakiest_steps: tuple[StepStats, ...]  # highest failure + retry rate first
    slowest_steps: tuple[StepStats, ...]  # highest p95 first
    bucket_sec: float
    attempts_per_bucket: tuple[int, ...]  # attempts started per bucket, oldest first

    @property
    def runs_total(self) -> int:
        return sum(self.runs_by_status.values())


@dataclass(frozen=True)
class Lease:
    """A run's (or step's) place in a concurrency group or pool (a `leases` row)."""

    id: int
    kind: str  # "group" or "pool"
    name: str
    capacity: int
    run_id: str
    step_id: str | None
    state: str  # waiting, held, released, or withdrawn (released without ever being held)
    requested_at: float
    acquired_at: float | None
    released_at: float | None
    waits_for: tuple[str, ...]  # while waiting: the runs holding the name, oldest first
