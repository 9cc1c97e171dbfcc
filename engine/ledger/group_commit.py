"""Group commit over aiosqlite: calls queue SQL, one background task commits it in transactions.

Each aiosqlite call is a thread hop (~80 µs), and a commit per statement would cap the engine far
below its spawn rate (measured on 2 cores: ~5,800 single-statement commits/s through aiosqlite, for
~7 statements a step, against ~2,400 spawns/s); batching whatever was queued while the previous
commit ran keeps commits short and few.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import aiosqlite

from engine.errors import LedgerError
from engine.ledger.connection import (
    Synchronous,
    configure,
    connect_writable,
    ledger_error,
    require_text_path,
    synchronous_setting,
    translate_errors,
)
from engine.ledger.transactions import write_transaction

T = TypeVar("T")
Params = tuple[Any, ...]
Op = tuple[str, Params]

# A transaction of a few thousand rows commits in a few ms, so readers and other writers
# never wait long for the write lock.
MAX_BATCH_OPS = 4000
# While records keep coming, commits start at most this often. Each costs the writer thread about
# 90 µs however small it is (BEGIN, COMMIT, the WAL frames), and a busy run would otherwise commit
# once per step (bench/bench_run.py: 840 commits for 1,000 steps, 120 with the interval). A record
# after a quiet spell is committed at once, and so is everything when someone waits in flush();
# readers see a record at most this much later.
COMMIT_INTERVAL_SEC = 0.005


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
    with write_transaction(conn):
        for sql, rows in _grouped(ops):
            if len(rows) == 1:
                conn.execute(sql, rows[0])
            else:
                conn.executemany(sql, rows)


async def _in_worker(db: aiosqlite.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
    """Run `fn(conn)` on aiosqlite's thread with its sqlite3 connection, in one round trip.

    Each public aiosqlite call is one thread hop (~80 µs); a whole batch as one call through
    `_execute` (the primitive all of them use) costs one hop instead of one per statement.
    """
    conn = db._conn
    result: T = await db._execute(fn, conn)  # type: ignore[no-untyped-call]
    return result


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _prepare_file(path: Path, synchronous: Synchronous) -> None:
    connect_writable(path, synchronous=synchronous).close()


class GroupCommit:
    """A queue of SQL operations committed by a background task, with group commit.

    `_record` is synchronous and cheap: it only queues SQL. A background task commits
    whatever is queued as one short `BEGIN IMMEDIATE ... COMMIT` transaction; while a commit is
    in flight new work accumulates for the next one, and commits start at least
    COMMIT_INTERVAL_SEC apart.

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
        self._hurry = asyncio.Event()  # someone waits in flush(): commit without the interval
        self._interval_waiter: asyncio.Future[None] | None = None
        self._error: LedgerError | None = None
        self._closed = False
        self.commits = 0  # transactions committed; for benchmarks and tests
        self._task = asyncio.create_task(self._commit_loop(), name=f"ledger-writer {path}")

    @classmethod
    async def open(cls, path: Path, *, synchronous: Synchronous | None = None) -> Self:
        """Open (creating and migrating if needed) the ledger at `path` for writing."""
        require_text_path(path)  # before the run is created: it could not be finished
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

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- queue and commit -------------------------------------------------------------------

    def _record(self, *ops: Op) -> None:
        if self._error is not None:
            raise self._error
        if self._closed:
            raise RuntimeError("LedgerWriter is closed")
        if self._stretch is None:
            self._stretch = []
            # Runs once the current code yields to the loop: that ends the stretch.
            self._loop.call_soon(self._seal)
        self._stretch.extend(ops)
        self._recorded += len(ops)

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
        next_commit = 0.0
        while True:
            await self._wakeup.wait()
            delay = next_commit - self._loop.time()
            if delay > 0 and not self._hurry.is_set():
                await self._wait_out_interval(delay)  # the batch grows meanwhile
            self._hurry.clear()
            self._wakeup.clear()
            if not self._sealed:
                continue  # taken by the previous commit already
            next_commit = self._loop.time() + COMMIT_INTERVAL_SEC
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
            if self._sealed:  # recorded during the commit, or the rest of a cut backlog
                self._wakeup.set()

    async def _wait_out_interval(self, delay: float) -> None:
        """Sleeps `delay`, or less if flush() hurries us.

        A timer and one future: `wait_for` on the hurry event would cost a task, a cancellation and
        several loop iterations per commit (~5 µs a step on a busy run).
        """
        waiter: asyncio.Future[None] = self._loop.create_future()
        self._interval_waiter = waiter
        timer = self._loop.call_later(delay, _resolve, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._interval_waiter = None

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
        self._hurry.set()
        if self._interval_waiter is not None:
            _resolve(self._interval_waiter)
        await future

    async def transact(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work(conn)` in its own write transaction, after everything recorded so far.

        For the few writes that must read and decide atomically (leases), where a queued record
        cannot: another engine may commit between the read and the write.
        """
        await self.flush()

        def transaction(conn: sqlite3.Connection) -> T:
            with write_transaction(conn):
                return work(conn)

        with translate_errors(self.path):
            return await _in_worker(self._db, transaction)

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
