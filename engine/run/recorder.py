"""The one place a run's transitions are recorded: the ledger row and event, then its listeners.

The writer builds each event's data as it stores it, and the recorder hands that same data, time
and type to every listener (the console display, `engine run --json`), so what a listener sees is
what `engine events` reads back later, field for field.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.ledger.owner import Owner
from engine.ledger.writer import Fingerprint, LedgerWriter, run_end_event
from engine.states import AttemptStatus, ErrorCode, EventType, RunStatus, StepStatus

if TYPE_CHECKING:
    from engine.executors.base import Placed
    from engine.ledger.records import CancelRequest


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """One event of a run as the ledger stores it (its `id` is known only once it commits)."""

    run_id: str
    type: EventType
    at: float
    step_id: str | None = None
    attempt: int | None = None
    data: dict[str, Any] | None = None


Listener = Callable[[RecordedEvent], None]


class Recorder:
    """Records one run's transitions through the writer and tells each listener what it recorded."""

    def __init__(
        self, writer: LedgerWriter, run_id: str, listeners: Sequence[Listener] = ()
    ) -> None:
        self.writer = writer
        self.run_id = run_id
        self._listeners = tuple(listeners)

    def publish(self, event: RecordedEvent) -> None:
        """Hand an event already in the ledger to every listener."""
        for listener in self._listeners:
            listener(event)

    def _tell(
        self,
        type: EventType,
        at: float,
        step_id: str | None = None,
        attempt: int | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        if self._listeners:
            self.publish(RecordedEvent(self.run_id, type, at, step_id, attempt, data))

    # -- the run ---------------------------------------------------------------------------------

    def run_created(
        self,
        *,
        plan_hash: str,
        plan_name: str,
        plan_version: str | None,
        plan_json: str,
        plan_path: str | None,
        vars: dict[str, str],
        step_ids: Sequence[str],
        hook_ids: Sequence[str],
        owner: Owner,
        resumed_from: str | None,
        created_at: float,
        parent: tuple[str, str] | None = None,
    ) -> None:
        data = self.writer.create_run(
            run_id=self.run_id, plan_hash=plan_hash, plan_name=plan_name,
            plan_version=plan_version, plan_json=plan_json, plan_path=plan_path, vars=vars,
            step_ids=step_ids, hook_ids=hook_ids, owner=owner, resumed_from=resumed_from,
            created_at=created_at, parent=parent,
        )  # fmt: skip
        self._tell(EventType.RUN_CREATED, created_at, data=data)

    def run_started(self, *, plan_name: str, steps_total: int) -> None:
        at = time.time()
        data = {"plan_name": plan_name, "steps_total": steps_total}
        self.writer.run_started(run_id=self.run_id, at=at, data=data)
        self._tell(EventType.RUN_STARTED, at, data=data)

    def run_finished(
        self, *, status: RunStatus, error: str | None, exit_code: int, started: float
    ) -> RecordedEvent:
        """Record the outcome; the caller publishes it once it is committed (a script reading
        the last line of `--json` must not see an outcome the ledger lost)."""
        at = time.time()
        data = self.writer.run_finished(
            run_id=self.run_id, status=status, at=at, error=error, exit_code=exit_code,
            duration_ms=round((at - started) * 1000),
        )  # fmt: skip
        return RecordedEvent(self.run_id, run_end_event(status), at, data=data)

    def event(
        self,
        type: EventType,
        step_id: str | None = None,
        attempt: int | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        """An event with no state change of its own (step_timeout, hooks_started, ...)."""
        at = time.time()
        self.writer.event(
            run_id=self.run_id, type=type, at=at, step_id=step_id, attempt=attempt, data=data
        )
        self._tell(type, at, step_id, attempt, data)

    def cancel_seen(self, request: CancelRequest) -> None:
        """Mark a cancel request handled; its cancel_requested event, written by whoever asked,
        is handed to the listeners as the ledger holds it."""
        self.writer.cancel_handled(request_id=request.id, at=time.time())
        data = {"request_id": request.id, "requested_by": request.requested_by}
        self._tell(EventType.CANCEL_REQUESTED, request.requested_at, request.step_id, None, data)

    # -- steps and attempts -------------------------------------------------------------------

    def step_ready(self, step_id: str, fingerprint: Fingerprint | None = None) -> None:
        at = time.time()
        self.writer.step_ready(run_id=self.run_id, step_id=step_id, at=at, fingerprint=fingerprint)
        self._tell(EventType.STEP_READY, at, step_id)

    def step_source(
        self,
        step_id: str,
        fingerprint: Fingerprint,
        source_run: str | None,
        source_attempt: int | None = None,
    ) -> None:
        """The fingerprint of a step taken from another run, and that run (no event of its own)."""
        self.writer.step_source(
            run_id=self.run_id, step_id=step_id, fingerprint=fingerprint,
            source_run=source_run, source_attempt=source_attempt,
        )  # fmt: skip

    def attempt_started(
        self,
        step_id: str,
        attempt: int,
        *,
        pid: int | None,
        log_path: str | None,
        retry_reason: str | None,
        delay_sec: float | None,
    ) -> None:
        at = time.time()
        data = self.writer.attempt_started(
            run_id=self.run_id, step_id=step_id, attempt=attempt, at=at, pid=pid,
            log_path=log_path, retry_reason=retry_reason, delay_sec=delay_sec,
        )  # fmt: skip
        self._tell(EventType.STEP_STARTED, at, step_id, attempt, data)

    def attempt_placed(self, step_id: str, attempt: int, placed: Placed) -> None:
        where = {"host": placed.host, "worker": placed.worker, "pid": placed.pid}
        self.writer.attempt_placed(
            run_id=self.run_id, step_id=step_id, attempt=attempt, at=placed.at, where=where
        )
        self._tell(EventType.STEP_PLACED, placed.at, step_id, attempt, where)

    def attempt_not_started(
        self, step_id: str, attempt: int, *, error_code: ErrorCode, message: str
    ) -> None:
        self.writer.attempt_not_started(
            run_id=self.run_id, step_id=step_id, attempt=attempt, at=time.time(),
            error_code=error_code, message=message,
        )  # fmt: skip

    def attempt_finished(
        self,
        step_id: str,
        attempt: int,
        *,
        at: float,
        status: AttemptStatus,
        error_code: ErrorCode | None,
        exit_code: int | None,
        signal: int | None,
        output_tail: str | None,
        message: str | None,
        cpu_user_ms: int | None = None,
        cpu_sys_ms: int | None = None,
        max_rss_kb: int | None = None,
    ) -> None:
        self.writer.attempt_finished(
            run_id=self.run_id, step_id=step_id, attempt=attempt, at=at, status=status,
            error_code=error_code, exit_code=exit_code, signal=signal, output_tail=output_tail,
            message=message, cpu_user_ms=cpu_user_ms, cpu_sys_ms=cpu_sys_ms,
            max_rss_kb=max_rss_kb,
        )  # fmt: skip

    def outputs(self, step_id: str, attempt: int, outputs: dict[str, str]) -> None:
        self.writer.record_outputs(
            run_id=self.run_id, step_id=step_id, attempt=attempt, outputs=outputs
        )

    def step_status(
        self,
        step_id: str,
        status: StepStatus,
        event: EventType,
        reason: str | None,
        data: dict[str, Any] | None = None,
    ) -> None:
        """A step's new status with its event: an outcome, or `retrying` between attempts."""
        at = time.time()
        payload = self.writer.step_status(
            run_id=self.run_id, step_id=step_id, status=status, at=at, event=event,
            reason=reason, data=data,
        )  # fmt: skip
        self._tell(event, at, step_id, None, payload)

    def skipped(self, step_ids: list[str], reason: str) -> None:
        """Steps that will never be decided (a hook list the outcome does not call for)."""
        for step_id in step_ids:
            self.step_status(step_id, StepStatus.SKIPPED, EventType.STEP_SKIPPED, reason)

    def hooks_started(self, group: str, run_status: RunStatus, count: int) -> None:
        """Where a hook list begins in the event stream, and which outcome called for it."""
        data = {"hooks": group, "run_status": str(run_status), "steps_total": count}
        self.event(EventType.HOOKS_STARTED, data=data)
