"""The engine's one write path: cheap synchronous recording calls, committed by group commit."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiosqlite

from engine.ledger import statements as sql
from engine.ledger.connection import printable_path, translate_errors
from engine.ledger.group_commit import GroupCommit, Op
from engine.ledger.owner import Owner
from engine.ledger.placement import PlacementWrites
from engine.ledger.times import from_iso, to_iso
from engine.states import AttemptStatus, ErrorCode, EventType, RunStatus, StepStatus

if TYPE_CHECKING:
    # The read API's records cost ~7 ms to import; a run that nobody cancels never needs them.
    from engine.ledger.records import CancelRequest

__all__ = ["Fingerprint", "LedgerWriter", "Owner"]

# A step's fingerprint (engine.plan.fingerprint), its parts, and its cache key if it is cached.
Fingerprint = tuple[str, dict[str, Any], str | None]

_RUN_END_EVENTS = {
    RunStatus.CANCELED: EventType.RUN_CANCELED,
    RunStatus.CRASHED: EventType.RUN_CRASHED,
}


def run_end_event(status: RunStatus) -> EventType:
    """The event that records a run's outcome: run_completed, run_canceled or run_crashed."""
    return _RUN_END_EVENTS.get(status, EventType.RUN_COMPLETED)


# Built once: json.dumps with options builds a new encoder per call, twice the cost of a step's
# event data.
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _json(data: dict[str, Any] | None) -> str | None:
    return None if data is None else _encode(data)


class LedgerWriter(GroupCommit, PlacementWrites):
    """The engine's one write path to the ledger: named recording calls over group commit.

    Every method queues the statements of one state change together with its event; see
    GroupCommit for why calls made without an `await` between them commit together.
    """

    def __init__(self, db: aiosqlite.Connection, path: Path) -> None:
        super().__init__(db, path)
        self._handled_cancel_ids: set[int] = set()

    # -- recording (synchronous: each call only queues) ----------------------------------------

    def _event_op(
        self,
        run_id: str,
        type: EventType,
        ts: str,
        step_id: str | None = None,
        attempt: int | None = None,
        data: dict[str, Any] | None = None,
    ) -> Op:
        return (sql.INSERT_EVENT, (run_id, step_id, attempt, str(type), ts, _json(data)))

    def create_run(
        self,
        *,
        run_id: str,
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
    ) -> dict[str, Any]:
        """Record a new run (status running), its plan, one pending row per step and hook.

        Returns the run_created event's data, as recorded.
        """
        ts = to_iso(created_at)
        ops: list[Op] = [
            (sql.INSERT_PLAN, (plan_hash, plan_name, plan_version, plan_json, ts, plan_json)),
            (
                sql.INSERT_RUN,
                (
                    run_id,
                    plan_hash,
                    plan_name,
                    None if plan_path is None else printable_path(plan_path),
                    json.dumps(vars, sort_keys=True, ensure_ascii=False),
                    ts,
                    len(step_ids),
                    owner.pid,
                    owner.process_start_time,
                    owner.host,
                    owner.boot_id,
                    resumed_from,
                ),
            ),
        ]
        ops.extend(
            (sql.INSERT_RUN_STEP, (run_id, step_id, position, 0))
            for position, step_id in enumerate(step_ids)
        )
        ops.extend(
            (sql.INSERT_RUN_STEP, (run_id, hook_id, position, 1))
            for position, hook_id in enumerate(hook_ids, start=len(step_ids))
        )
        data = {
            "plan_name": plan_name,
            "plan_hash": plan_hash,
            "steps_total": len(step_ids),
            "hooks_total": len(hook_ids),
            "resumed_from": resumed_from,
            "owner_pid": owner.pid,
            "owner_host": owner.host,
        }
        data["parent_run_id"], data["parent_step_id"] = parent or (None, None)
        if parent is not None:  # a sub-plan's run: linked to the plan step that runs it
            ops.append((sql.SET_RUN_PARENT, (parent[0], parent[1], run_id)))
        ops.append(self._event_op(run_id, EventType.RUN_CREATED, ts, data=data))
        self._record(*ops)
        return data

    def run_started(self, *, run_id: str, at: float, data: dict[str, Any] | None = None) -> None:
        """Record that the run began scheduling steps."""
        ts = to_iso(at)
        self._record(
            (sql.RUN_STARTED, (ts, run_id)),
            self._event_op(run_id, EventType.RUN_STARTED, ts, data=data),
        )

    def step_ready(
        self, *, run_id: str, step_id: str, at: float, fingerprint: Fingerprint | None = None
    ) -> None:
        """Record that a step's dependencies are done and it waits for a concurrency slot."""
        digest, parts, key = fingerprint or (None, None, None)
        self._record(
            (sql.STEP_READY, (digest, _json(parts), key, run_id, step_id)),
            self._event_op(run_id, EventType.STEP_READY, to_iso(at), step_id=step_id),
        )

    def attempt_started(
        self,
        *,
        run_id: str,
        step_id: str,
        attempt: int,
        at: float,
        pid: int | None,
        log_path: str | None,
        retry_reason: str | None,
        delay_sec: float | None,
    ) -> dict[str, Any]:
        """Record a launched attempt: its row, the step's running state and a step_started event.

        Returns the event's data, as recorded.
        """
        delay_ms = None if delay_sec is None else round(delay_sec * 1000)
        ts = to_iso(at)
        data: dict[str, Any] = {"pid": pid, "log_path": log_path}
        if retry_reason is not None:
            data["retry_reason"] = retry_reason
            data["delay_ms"] = delay_ms
        self._record(
            (
                sql.INSERT_ATTEMPT,
                (run_id, step_id, attempt, ts, pid, log_path, retry_reason, delay_ms),
            ),
            (sql.STEP_RUNNING, (attempt, ts, run_id, step_id)),
            self._event_op(
                run_id, EventType.STEP_STARTED, ts, step_id=step_id, attempt=attempt, data=data
            ),
        )
        return data

    def attempt_not_started(
        self,
        *,
        run_id: str,
        step_id: str,
        attempt: int,
        at: float,
        error_code: ErrorCode,
        message: str,
    ) -> None:
        """Record an attempt that failed before any process started (its condition could not be
        evaluated), so that its error code is queryable like any other failure."""
        ts = to_iso(at)
        finished = (
            str(AttemptStatus.FAILED), str(error_code), None, None, ts, ts, None, message,
            None, None, None,
        )  # fmt: skip
        self._record(
            (sql.INSERT_ATTEMPT, (run_id, step_id, attempt, ts, None, None, None, None)),
            (sql.STEP_RUNNING, (attempt, ts, run_id, step_id)),
            (sql.FINISH_ATTEMPT, (*finished, run_id, step_id, attempt)),
        )

    def attempt_finished(
        self,
        *,
        run_id: str,
        step_id: str,
        attempt: int,
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
        """Record how an attempt ended (the attempt row only; the step's fate is step_status)."""
        ts = to_iso(at)
        params = (
            str(status),
            None if error_code is None else str(error_code),
            exit_code,
            signal,
            ts,
            ts,
            output_tail,
            message,
            cpu_user_ms,
            cpu_sys_ms,
            max_rss_kb,
            run_id,
            step_id,
            attempt,
        )
        self._record((sql.FINISH_ATTEMPT, params))

    def step_status(
        self,
        *,
        run_id: str,
        step_id: str,
        status: StepStatus,
        at: float,
        event: EventType,
        reason: str | None,
        data: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Record a step's new status with its event; a final status also sets finished_at.

        A non-final status (retrying) only changes the status, so one call covers every step
        transition after launch. Returns the event's data, as recorded.
        """
        ts = to_iso(at)
        if status.is_final:
            op: Op = (sql.FINISH_STEP, (str(status), ts, ts, reason, run_id, step_id))
        else:
            op = (sql.STEP_STATUS, (str(status), reason, run_id, step_id))
        payload = dict(data or {})
        payload.setdefault("status", str(status))
        if reason is not None:
            payload.setdefault("reason", reason)
        self._record(op, self._event_op(run_id, event, ts, step_id=step_id, data=payload))
        return payload

    def step_source(
        self,
        *,
        run_id: str,
        step_id: str,
        fingerprint: Fingerprint,
        source_run: str | None,
        source_attempt: int | None,
    ) -> None:
        """Record the fingerprint of a step not run here, and the run whose result it took."""
        digest, parts, key = fingerprint
        params = (digest, _json(parts), key, source_run, source_attempt, run_id, step_id)
        self._record((sql.STEP_SOURCE, params))

    def record_outputs(
        self, *, run_id: str, step_id: str, attempt: int, outputs: dict[str, str]
    ) -> None:
        """Store a step's outputs (a later attempt's value replaces an earlier one)."""
        self._record(
            *(
                (sql.UPSERT_OUTPUT, (run_id, step_id, attempt, name, value))
                for name, value in outputs.items()
            )
        )

    def event(
        self,
        *,
        run_id: str,
        type: EventType,
        at: float,
        step_id: str | None = None,
        attempt: int | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        """Append one event that has no state change of its own (e.g. step_timeout)."""
        self._record(
            self._event_op(run_id, type, to_iso(at), step_id=step_id, attempt=attempt, data=data)
        )

    def run_finished(
        self,
        *,
        run_id: str,
        status: RunStatus,
        at: float,
        error: str | None,
        exit_code: int,
        duration_ms: int | None = None,
    ) -> dict[str, Any]:
        """Record a run's outcome with its run_completed, run_canceled or run_crashed event.

        Returns the event's data, as recorded (`duration_ms` only when given).
        """
        ts = to_iso(at)
        event = run_end_event(status)
        data: dict[str, Any] = {"status": str(status), "exit_code": exit_code, "error": error}
        if duration_ms is not None:
            data["duration_ms"] = duration_ms
        self._record(
            (sql.FINISH_RUN, (str(status), ts, ts, error, exit_code, run_id)),
            (sql.RELEASE_RUN_LEASES, (ts, run_id)),  # its group and pool leases end with it
            self._event_op(run_id, event, ts, data=data),
        )
        return data

    def release_lease(self, *, lease_id: int, at: float) -> None:
        """Release a group or pool lease (engine.ledger.leases), committed like any record."""
        self._record((sql.RELEASE_LEASE, (to_iso(at), lease_id)))

    def cancel_handled(self, *, request_id: int, at: float) -> None:
        """Mark a cancel request as acted upon, so it is not returned again."""
        self._handled_cancel_ids.add(request_id)
        self._record((sql.CANCEL_HANDLED, (to_iso(at), request_id)))

    def extend_handled(
        self, *, request_id: int, at: float, outcome: str, deadline: float | None, message: str
    ) -> None:
        """Answer an `engine extend` request (engine.ledger.extend): extended, or refused why."""
        from engine.ledger.extend import HANDLED

        answer = (to_iso(at), outcome, None if deadline is None else to_iso(deadline), message)
        self._record((HANDLED, (*answer, request_id)))

    # -- reads the engine needs while running -------------------------------------------------

    async def has_active_runs(self) -> bool:
        """Whether some run is marked pending or running: only then can a crashed one be found."""
        ((exists,),) = await self.read(sql.ANY_ACTIVE_RUN)
        return bool(exists)

    async def read(self, query: str, params: Sequence[Any] = ()) -> list[Any]:
        """Rows of a read the run needs (cancel requests, cache lookups), on its connection."""
        if self._error is not None:
            raise self._error
        with translate_errors(self.path):
            return list(await self._db.execute_fetchall(query, params))

    async def pending_cancel_requests(self, run_id: str) -> list[CancelRequest]:
        """Return the cancel requests for `run_id` not yet handled, oldest first."""
        rows = await self.read(sql.PENDING_CANCELS, (run_id,))
        if not rows:
            return []
        from engine.ledger.records import CancelRequest

        return [
            CancelRequest(
                id=row[0],
                run_id=row[1],
                step_id=row[2],
                requested_at=from_iso(row[3]),
                requested_by=row[4],
            )
            for row in rows
            # Handled but not yet committed: do not hand the same request out twice.
            if row[0] not in self._handled_cancel_ids
        ]
