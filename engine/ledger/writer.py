"""The engine's one write path: cheap synchronous recording calls, committed by group commit."""

from __future__ import annotations

import asyncio
import functools
import json
import sqlite3
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import suppress
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import aiosqlite

from engine.errors import LedgerError
from engine.ledger import statements as sql
from engine.ledger.connection import (
    Synchronous,
    configure,
    connect_writable,
    ledger_error,
    synchronous_setting,
    translate_errors,
)
from engine.ledger.owner import Owner
from engine.ledger.records import CancelRequest
from engine.ledger.times import from_iso, to_iso
from engine.masking import StreamMasker
from engine.states import AttemptStatus, ErrorCode, EventType, RunStatus, StepStatus

__all__ = ["LedgerWriter", "Owner"]

T = TypeVar("T")
Params = tuple[Any, ...]
Op = tuple[str, Params]

# A transaction of a few thousand rows commits in a few ms, so readers and other writers
# never wait long for the write lock.
MAX_BATCH_OPS = 4000

_RUN_END_EVENTS = {
    RunStatus.CANCELED: EventType.RUN_CANCELED,
    RunStatus.CRASHED: EventType.RUN_CRASHED,
}


def _json(data: dict[str, Any] | None) -> str | None:
    return None if data is None else json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def _grouped(ops: Sequence[Op]) -> Iterator[tuple[str, list[Params]]]:
    """Yield runs of consecutive operations that share one SQL string, in order."""
    sql: str | None = None
    rows: list[Params] = []
    for op_sql, params in ops:
        if op_sql != sql and rows:
            assert sql is not None
            yield sql, rows
            rows = []
        sql = op_sql
        rows.append(params)
    if rows:
        assert sql is not None
        yield sql, rows


def _apply_batch(conn: sqlite3.Connection, ops: Sequence[Op]) -> None:
    """Commit `ops` as one transaction, or roll all of them back (runs on aiosqlite's thread)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for sql, rows in _grouped(ops):
            if len(rows) == 1:
                conn.execute(sql, rows[0])
            else:
                conn.executemany(sql, rows)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            with suppress(sqlite3.Error):  # the original error is the one worth reporting
                conn.execute("ROLLBACK")
        raise


async def _in_worker(db: aiosqlite.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
    """Run `fn(conn)` on aiosqlite's thread with its sqlite3 connection, in one round trip.

    Each public aiosqlite call is one thread hop (~80 µs); a whole batch as one call through
    `_execute` (the primitive all of them use) costs one hop instead of one per statement.
    """
    conn = db._conn
    result: T = await db._execute(fn, conn)  # type: ignore[no-untyped-call]
    return result


def _prepare_file(path: Path, synchronous: Synchronous) -> None:
    connect_writable(path, synchronous=synchronous).close()


class LedgerWriter:
    """The engine's one write path to the ledger, through aiosqlite with group commit.

    Recording methods are synchronous and cheap: they only queue SQL. A background task commits
    whatever is queued as one short `BEGIN IMMEDIATE ... COMMIT` transaction; while a commit is
    in flight new work accumulates for the next one.

    Atomicity guarantee: everything recorded without an `await` in between (one synchronous
    stretch of the event loop) is committed in the same transaction, never split. asyncio is
    single-threaded, so this is how a state change and its event always land together. Large
    backlogs are cut into transactions of about MAX_BATCH_OPS operations, only between stretches.

    If a commit fails (disk full, corrupt file) it is rolled back entirely and the writer is
    broken: the LedgerError is raised by the next recording call, `flush()` or `close()`.
    """

    def __init__(self, db: aiosqlite.Connection, path: Path) -> None:
        self._db = db
        self.path = path
        self._loop = asyncio.get_running_loop()
        self._stretch: list[Op] | None = None  # ops recorded since the loop last yielded
        self._sealed: deque[list[Op]] = deque()  # finished stretches awaiting commit
        self._recorded = 0
        self._committed = 0
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._wakeup = asyncio.Event()
        self._error: LedgerError | None = None
        self._closed = False
        self._handled_cancel_ids: set[int] = set()
        self._masker: StreamMasker | None = None
        self.commits = 0  # transactions committed; for benchmarks and tests
        self._task = asyncio.create_task(self._commit_loop(), name=f"ledger-writer {path}")

    @classmethod
    async def open(cls, path: Path, *, synchronous: Synchronous | None = None) -> LedgerWriter:
        """Open (creating and migrating if needed) the ledger at `path` for writing."""
        sync = synchronous_setting(synchronous)
        await asyncio.to_thread(_prepare_file, path, sync)
        with translate_errors(path):
            db = await aiosqlite.connect(path, isolation_level=None)
            try:
                await _in_worker(db, lambda conn: configure(conn, synchronous=sync, writable=True))
            except BaseException:
                await db.close()
                raise
        return cls(db, path)

    async def __aenter__(self) -> LedgerWriter:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- queue and commit -------------------------------------------------------------------

    def mask(self, secret_values: Iterable[str]) -> None:
        """Replace these values by `***` in every string written from now on.

        The last line of defence: logs, tails and outputs are masked where they are made, but a
        message can quote what a step wrote (an output line, a value a condition compared). The
        JSON-escaped spelling is masked too, since event data is stored as JSON text.
        """
        values = [v for v in secret_values if v]
        escaped = [json.dumps(v, ensure_ascii=False)[1:-1] for v in values]
        masker = StreamMasker([*values, *escaped])
        self._masker = masker if masker.active else None

    def _record(self, *ops: Op) -> None:
        if self._error is not None:
            raise self._error
        if self._closed:
            raise RuntimeError("LedgerWriter is closed")
        if self._masker is not None:
            ops = tuple((statement, self._masked(params)) for statement, params in ops)
        if self._stretch is None:
            self._stretch = []
            # Runs once the current code yields to the loop: that ends the stretch.
            self._loop.call_soon(self._seal)
        self._stretch.extend(ops)
        self._recorded += len(ops)

    def _masked(self, params: Params) -> Params:
        assert self._masker is not None
        mask = self._masker.mask_all
        return tuple(
            mask(p.encode()).decode(errors="replace") if isinstance(p, str) else p for p in params
        )

    def _seal(self) -> None:
        if self._stretch:
            self._sealed.append(self._stretch)
            self._wakeup.set()
        self._stretch = None

    def _take_batch(self) -> list[Op]:
        batch = list(self._sealed.popleft())
        while self._sealed and len(batch) + len(self._sealed[0]) <= MAX_BATCH_OPS:
            batch.extend(self._sealed.popleft())
        return batch

    async def _commit_loop(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._sealed:
                batch = self._take_batch()
                try:
                    await _in_worker(self._db, functools.partial(_apply_batch, ops=batch))
                except sqlite3.Error as exc:
                    self._fail(ledger_error(exc, self.path))
                    return
                except Exception as exc:  # a bug; still never leave flush() waiting forever
                    error = LedgerError(f"Writing to the ledger {self.path} failed: {exc!r}.")
                    error.__cause__ = exc
                    self._fail(error)
                    return
                self._committed += len(batch)
                self.commits += 1
                self._release_waiters()

    def _release_waiters(self) -> None:
        still_waiting = []
        for target, future in self._waiters:
            if future.done():
                continue
            if target <= self._committed:
                future.set_result(None)
            else:
                still_waiting.append((target, future))
        self._waiters = still_waiting

    def _fail(self, error: LedgerError) -> None:
        self._error = error
        self._sealed.clear()
        self._stretch = None
        for _, future in self._waiters:
            if not future.done():
                future.set_exception(error)
        self._waiters = []

    async def flush(self) -> None:
        """Wait until everything recorded so far is committed."""
        if self._error is not None:
            raise self._error
        target = self._recorded
        if target <= self._committed:
            return
        future: asyncio.Future[None] = self._loop.create_future()
        self._waiters.append((target, future))
        await future

    async def close(self) -> None:
        """Flush, then close the connection; raises the writer's LedgerError if it has one."""
        if self._closed:
            return
        try:
            if self._error is None:
                await self.flush()
        finally:
            self._closed = True
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            with translate_errors(self.path):
                await self._db.close()
        if self._error is not None:
            raise self._error

    # -- recording (synchronous: each call only queues) ----------------------------------------

    def _event_op(
        self,
        run_id: str,
        type: EventType,
        at: float,
        step_id: str | None = None,
        attempt: int | None = None,
        data: dict[str, Any] | None = None,
    ) -> Op:
        return (sql.INSERT_EVENT, (run_id, step_id, attempt, str(type), to_iso(at), _json(data)))

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
    ) -> None:
        """Record a new run (status running), its plan, one pending row per step and hook."""
        ts = to_iso(created_at)
        ops: list[Op] = [
            (sql.INSERT_PLAN, (plan_hash, plan_name, plan_version, plan_json, ts)),
            (
                sql.INSERT_RUN,
                (
                    run_id,
                    plan_hash,
                    plan_name,
                    plan_path,
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
        ops.append(self._event_op(run_id, EventType.RUN_CREATED, created_at, data=data))
        self._record(*ops)

    def run_started(self, *, run_id: str, at: float) -> None:
        """Record that the run began scheduling steps."""
        self._record(
            (sql.RUN_STARTED, (to_iso(at), run_id)),
            self._event_op(run_id, EventType.RUN_STARTED, at),
        )

    def step_ready(self, *, run_id: str, step_id: str, at: float) -> None:
        """Record that a step's dependencies are done and it waits for a concurrency slot."""
        self._record(
            (sql.STEP_READY, (run_id, step_id)),
            self._event_op(run_id, EventType.STEP_READY, at, step_id=step_id),
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
    ) -> None:
        """Record a launched attempt: its row, the step's running state and a step_started event."""
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
                run_id, EventType.STEP_STARTED, at, step_id=step_id, attempt=attempt, data=data
            ),
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
    ) -> None:
        """Record how an attempt ended (the attempt row only; the step's fate is step_finished)."""
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
            run_id,
            step_id,
            attempt,
        )
        self._record((sql.FINISH_ATTEMPT, params))

    def step_finished(
        self,
        *,
        run_id: str,
        step_id: str,
        status: StepStatus,
        at: float,
        event: EventType,
        reason: str | None,
        data: dict[str, Any] | None = None,
    ) -> None:
        """Record a step's new status with its event; a final status also sets finished_at.

        A non-final status (retrying) only changes the status, so one call covers every step
        transition after launch.
        """
        if status.is_final:
            ts = to_iso(at)
            op: Op = (sql.FINISH_STEP, (str(status), ts, ts, reason, run_id, step_id))
        else:
            op = (sql.STEP_STATUS, (str(status), reason, run_id, step_id))
        payload = dict(data or {})
        payload.setdefault("status", str(status))
        if reason is not None:
            payload.setdefault("reason", reason)
        self._record(op, self._event_op(run_id, event, at, step_id=step_id, data=payload))

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
        """Append one event that has no state change of its own (e.g. step_output_truncated)."""
        self._record(self._event_op(run_id, type, at, step_id=step_id, attempt=attempt, data=data))

    def run_finished(
        self, *, run_id: str, status: RunStatus, at: float, error: str | None, exit_code: int
    ) -> None:
        """Record a run's outcome with its run_completed, run_canceled or run_crashed event."""
        ts = to_iso(at)
        event = _RUN_END_EVENTS.get(status, EventType.RUN_COMPLETED)
        data = {"status": str(status), "exit_code": exit_code, "error": error}
        self._record(
            (sql.FINISH_RUN, (str(status), ts, ts, error, exit_code, run_id)),
            self._event_op(run_id, event, at, data=data),
        )

    def cancel_handled(self, *, request_id: int, at: float) -> None:
        """Mark a cancel request as acted upon, so it is not returned again."""
        self._handled_cancel_ids.add(request_id)
        self._record((sql.CANCEL_HANDLED, (to_iso(at), request_id)))

    # -- reads the engine needs while running -------------------------------------------------

    async def pending_cancel_requests(self, run_id: str) -> list[CancelRequest]:
        """Return the cancel requests for `run_id` not yet handled, oldest first."""
        if self._error is not None:
            raise self._error
        with translate_errors(self.path):
            rows = await self._db.execute_fetchall(sql.PENDING_CANCELS, (run_id,))
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
