"""Leases in the ledger: capacity, first come first served, release with the run or its crash, and
the forward migration of a ledger written before leases existed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from engine.ledger import leases, schema
from engine.ledger.connection import connect_writable
from engine.ledger.maintenance import mark_run_crashed
from engine.ledger.reader import LedgerReader
from engine.ledger.transactions import write_transaction
from tests.ledger_factory import OWNER, T0


def _run(conn: sqlite3.Connection, run_id: str) -> None:
    conn.execute(
        "INSERT OR IGNORE INTO plans (hash, name, plan_json, created_at)"
        " VALUES ('h', 'p', '{}', '2026-11-18T07:46:40.000Z')"
    )
    conn.execute(
        "INSERT INTO runs (id, plan_hash, plan_name, status, created_at, steps_total, owner_pid,"
        " owner_start_time, owner_host, owner_boot_id)"
        " VALUES (?, 'h', 'p', 'running', '2026-11-18T07:46:40.000Z', 1, ?, ?, ?, ?)",
        (run_id, OWNER.pid, OWNER.process_start_time, OWNER.host, OWNER.boot_id),
    )


def _ledger(tmp_path: Path, *run_ids: str) -> sqlite3.Connection:
    conn = connect_writable(tmp_path / "l.db")
    with write_transaction(conn):
        for run_id in run_ids:
            _run(conn, run_id)
    return conn


def _request(conn: sqlite3.Connection, run_id: str, capacity: int = 2) -> leases.Grant:
    with write_transaction(conn):
        return leases.request(
            conn, kind=leases.POOL, name="db", capacity=capacity, run_id=run_id, step_id="s",
            at=T0,
        )  # fmt: skip


def test_capacity_holders_then_waiters_in_arrival_order(tmp_path: Path) -> None:
    conn = _ledger(tmp_path, "a", "b", "c", "d")
    grants = [_request(conn, run_id) for run_id in "abcd"]
    assert [g.acquired for g in grants] == [True, True, False, False]
    assert grants[2].holders == ("a", "b")
    leases.release(conn, grants[0].lease_id, T0 + 1)
    # One slot is free: the earlier waiter gets it, the later one may not jump the queue.
    with write_transaction(conn):
        later, earlier = leases.try_acquire(conn, [grants[3].lease_id, grants[2].lease_id], T0 + 2)
    assert (later.acquired, earlier.acquired) == (False, True)
    assert later.holders == ("b",)  # a slot was free when it asked, but "c" was ahead of it


def test_a_waiter_that_withdraws_lets_the_next_one_in(tmp_path: Path) -> None:
    conn = _ledger(tmp_path, "a", "b", "c")
    holder, first, second = (_request(conn, run_id, capacity=1) for run_id in "abc")
    leases.release(conn, first.lease_id, T0 + 1)  # gave up waiting
    leases.release(conn, holder.lease_id, T0 + 2)
    with write_transaction(conn):
        (grant,) = leases.try_acquire(conn, [second.lease_id], T0 + 3)
    assert grant.acquired
    with LedgerReader.open(tmp_path / "l.db") as reader:
        assert [lease.state for lease in reader.leases("b")] == ["withdrawn"]
        assert [(lease.run_id, lease.state) for lease in reader.leases()] == [("c", "held")]


def test_a_crashed_run_gives_its_leases_back(tmp_path: Path) -> None:
    conn = _ledger(tmp_path, "a", "b")
    held = _request(conn, "a", capacity=1)
    waiting = _request(conn, "b", capacity=1)
    assert held.acquired and not waiting.acquired
    assert mark_run_crashed(tmp_path / "l.db", "a", at=T0 + 5, error="gone")
    with write_transaction(conn):
        (grant,) = leases.try_acquire(conn, [waiting.lease_id], T0 + 6)
    assert grant.acquired
    with LedgerReader.open(tmp_path / "l.db") as reader:
        (lease,) = reader.leases("a")
    assert lease.state == "released" and lease.released_at == T0 + 5


def test_cancel_in_progress_asks_the_other_runs_to_cancel(tmp_path: Path) -> None:
    conn = _ledger(tmp_path, "a", "b", "c")
    _request(conn, "a", capacity=1)
    _request(conn, "b", capacity=1)
    with write_transaction(conn):
        grant = leases.request(
            conn, kind=leases.POOL, name="db", capacity=1, run_id="c", step_id=None, at=T0,
            cancel_others_as="run c (cancel_in_progress)",
        )  # fmt: skip
    assert not grant.acquired
    asked = conn.execute("SELECT run_id, requested_by FROM cancel_requests ORDER BY id").fetchall()
    assert asked == [("a", "run c (cancel_in_progress)"), ("b", "run c (cancel_in_progress)")]


def test_a_ledger_from_before_leases_is_migrated_forward(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in schema.split_statements(schema.MIGRATIONS[0]):
        conn.execute(statement)
    conn.execute(f"PRAGMA application_id = {schema.APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 1")
    with write_transaction(conn):
        _run(conn, "old")
    conn.close()
    migrated = connect_writable(path)
    assert migrated.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    assert migrated.execute("SELECT id FROM runs").fetchall() == [("old",)]
    assert _request(migrated, "old").acquired
