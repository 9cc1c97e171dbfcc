"""The writer: group commit, atomic synchronous stretches, failures, cancel requests."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from engine.errors import LedgerError, UserError
from engine.ledger import group_commit
from engine.ledger.control import request_cancel
from engine.ledger.reader import LedgerReader
from engine.ledger.writer import LedgerWriter
from engine.states import EventType, ExitCode, RunStatus
from tests.ledger_factory import OWNER, T0

# An attempt row without its step_started event, or the reverse: must never be visible.
ORPHANS = """
SELECT (SELECT count(*) FROM step_attempts a WHERE NOT EXISTS (
            SELECT 1 FROM events e WHERE e.run_id = a.run_id AND e.step_id = a.step_id
              AND e.attempt = a.attempt AND e.type = 'step_started'))
     + (SELECT count(*) FROM events e WHERE e.type = 'step_started' AND NOT EXISTS (
            SELECT 1 FROM step_attempts a WHERE a.run_id = e.run_id AND a.step_id = e.step_id
              AND a.attempt = e.attempt))
"""


def create(w: LedgerWriter, run_id: str, steps: list[str], at: float = T0) -> None:
    w.create_run(
        run_id=run_id,
        plan_hash="h",
        plan_name="p",
        plan_version=None,
        plan_json="{}",
        plan_path=None,
        vars={},
        step_ids=steps,
        hook_ids=[],
        owner=OWNER,
        resumed_from=None,
        created_at=at,
    )


def start(w: LedgerWriter, run_id: str, step_id: str, attempt: int = 1) -> None:
    w.attempt_started(
        run_id=run_id,
        step_id=step_id,
        attempt=attempt,
        at=T0 + attempt,
        pid=1,
        log_path=None,
        retry_reason=None,
        delay_sec=None,
    )


async def test_open_creates_and_migrates(ledger_path: Path) -> None:
    ledger_path.parent.mkdir()
    async with await LedgerWriter.open(ledger_path) as w:
        create(w, "run1", ["a"])
    with LedgerReader.open(ledger_path) as reader:
        assert [r.id for r in reader.list_runs()] == ["run1"]


async def test_one_stretch_is_one_transaction_and_ops_are_grouped(
    ledger_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger_path.parent.mkdir()
    statements: list[tuple[str, int]] = []
    original = group_commit._grouped

    def spy(ops):  # type: ignore[no-untyped-def]
        for sql, rows in original(ops):
            statements.append((sql.split(" (")[0], len(rows)))
            yield sql, rows

    monkeypatch.setattr(group_commit, "_grouped", spy)
    async with await LedgerWriter.open(ledger_path) as w:
        create(w, "run1", [f"s{i}" for i in range(100)])
        for i in range(100):
            w.step_ready(run_id="run1", step_id=f"s{i}", at=T0)
        await w.flush()
        assert w.commits == 1
    # Consecutive identical statements become one executemany.
    assert ("INSERT INTO run_steps", 100) in statements
    assert len(statements) == 4 + 200


async def test_backlog_is_cut_between_stretches_only(
    ledger_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger_path.parent.mkdir()
    monkeypatch.setattr(group_commit, "MAX_BATCH_OPS", 10)
    async with await LedgerWriter.open(ledger_path) as w:
        create(w, "run1", [f"s{i}" for i in range(30)])  # one stretch of 33 ops: never split
        await asyncio.sleep(0)
        for i in range(30):
            start(w, "run1", f"s{i}")
            await asyncio.sleep(0)  # 30 stretches of 3 ops
        await w.flush()
        assert 1 + 30 * 3 / 10 <= w.commits < 31
    conn = sqlite3.connect(ledger_path)
    assert conn.execute(ORPHANS).fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM run_steps").fetchone()[0] == 30


async def test_while_busy_commits_start_an_interval_apart_unless_someone_flushes(
    ledger_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger_path.parent.mkdir()
    monkeypatch.setattr(group_commit, "COMMIT_INTERVAL_SEC", 60.0)
    loop = asyncio.get_running_loop()
    async with await LedgerWriter.open(ledger_path) as w:
        create(w, "run1", ["a", "b"])
        for _ in range(300):  # the first record after a quiet spell does not wait (bounded: 15 s)
            if w.commits:
                break
            await asyncio.sleep(0.05)
        assert w.commits == 1
        start(w, "run1", "a")
        await asyncio.sleep(0.1)
        assert w.commits == 1  # held back: the previous commit started less than 60 s ago
        flushing = loop.time()
        await w.flush()  # a waiter does not wait out the interval
        assert w.commits == 2
        assert loop.time() - flushing < 30
        start(w, "run1", "b")
    conn = sqlite3.connect(ledger_path)  # closing flushed the last one
    assert conn.execute("SELECT count(*) FROM step_attempts").fetchone()[0] == 2


async def test_reader_never_sees_half_of_a_stretch(ledger_path: Path) -> None:
    ledger_path.parent.mkdir()
    stop = threading.Event()
    seen: list[int] = []
    checks = 0

    def poll() -> None:
        nonlocal checks
        conn = sqlite3.connect(f"file:{ledger_path}?mode=ro", uri=True)
        conn.execute("PRAGMA busy_timeout = 10000")
        while not stop.is_set():
            seen.append(conn.execute(ORPHANS).fetchone()[0])
            checks += 1
        conn.close()

    async with await LedgerWriter.open(ledger_path) as w:
        create(w, "run1", [f"s{i}" for i in range(400)])
        await w.flush()
        thread = threading.Thread(target=poll)
        thread.start()
        try:
            for i in range(400):
                start(w, "run1", f"s{i}")
                if i % 7 == 0:
                    await asyncio.sleep(0)
            await w.flush()
        finally:
            stop.set()
            thread.join()
    assert checks > 0 and set(seen) == {0}


async def test_flush_waits_for_commit(ledger_path: Path) -> None:
    ledger_path.parent.mkdir()
    async with await LedgerWriter.open(ledger_path) as w:
        create(w, "run1", ["a"])
        await w.flush()
        other = sqlite3.connect(ledger_path)
        assert other.execute("SELECT count(*) FROM runs").fetchone()[0] == 1
        await w.flush()  # nothing queued: returns at once
        other.close()


async def test_disk_full_surfaces_ledger_error_and_rolls_back(ledger_path: Path) -> None:
    ledger_path.parent.mkdir()
    w = await LedgerWriter.open(ledger_path)
    create(w, "run1", ["a"])
    await w.flush()
    pages = (await w._db.execute_fetchall("PRAGMA page_count"))[0][0]
    await w._db.execute_fetchall(f"PRAGMA max_page_count = {pages}")
    big = "x" * 50_000
    start(w, "run1", "a")
    w.event(run_id="run1", type=EventType.STEP_TIMEOUT, at=T0, data={"tail": big})
    with pytest.raises(LedgerError, match="is full") as caught:
        await w.flush()
    assert caught.value.exit_code == ExitCode.LEDGER
    with pytest.raises(LedgerError):
        w.step_ready(run_id="run1", step_id="a", at=T0)
    with pytest.raises(LedgerError):
        await w.close()
    conn = sqlite3.connect(ledger_path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # The failed batch left nothing behind: no attempt row, no step_started event.
    assert conn.execute("SELECT count(*) FROM step_attempts").fetchone()[0] == 0
    assert conn.execute("SELECT type FROM events").fetchall() == [("run_created",)]


async def test_cancel_requests_round_trip(ledger_path: Path) -> None:
    ledger_path.parent.mkdir()
    async with await LedgerWriter.open(ledger_path) as w:
        create(w, "run1", ["a", "b"])
        await w.flush()
        assert await w.pending_cancel_requests("run1") == []
        first = request_cancel(ledger_path, "run1", "a", requested_by="dashboard", at=T0 + 5)
        second = request_cancel(ledger_path, "run1", requested_by="cli")
        pending = await w.pending_cancel_requests("run1")
        assert [(r.id, r.step_id, r.requested_by) for r in pending] == [
            (first, "a", "dashboard"),
            (second, None, "cli"),
        ]
        assert pending[0].requested_at == T0 + 5
        w.cancel_handled(request_id=first, at=T0 + 6)
        # Handled but not yet committed is already not pending.
        assert [r.id for r in await w.pending_cancel_requests("run1")] == [second]
        await w.flush()
        assert [r.id for r in await w.pending_cancel_requests("run1")] == [second]
        w.run_finished(
            run_id="run1", status=RunStatus.CANCELED, at=T0 + 7, error=None, exit_code=130
        )
    with LedgerReader.open(ledger_path) as reader:
        types = [e.type for e in reader.events(run_id="run1")]
        assert types.count(EventType.CANCEL_REQUESTED) == 2 and types[-1] == "run_canceled"
    with pytest.raises(UserError, match="already finished") as finished:
        request_cancel(ledger_path, "run1", requested_by="cli")
    assert finished.value.exit_code == ExitCode.FAILED
    with pytest.raises(UserError, match="no run"):
        request_cancel(ledger_path, "nope", requested_by="cli")


async def test_recording_is_cheap(ledger_path: Path) -> None:
    ledger_path.parent.mkdir()
    async with await LedgerWriter.open(ledger_path) as w:
        create(w, "run1", [f"s{i}" for i in range(2000)])
        # CPU time of this thread, not wall time: on a busy machine the wall clock also counts
        # the time other processes ran.
        began = time.thread_time()
        for i in range(2000):
            start(w, "run1", f"s{i}")
        elapsed = time.thread_time() - began
        await w.flush()
    assert elapsed < 0.5  # queueing only: no I/O in the caller
