"""Leases on concurrency groups and pools: at most `capacity` holders of a name across all runs.

A lease row is requested (waiting), acquired (held) and released; one that is released without
ever being acquired was withdrawn. Waiters are served first come, first served: a waiter is granted
only while the holders plus the waiters ahead of it are fewer than its capacity. Every function here
runs inside the caller's `BEGIN IMMEDIATE` transaction, so two engines never both see a free slot.
A sub-plan's run never waits for (nor cancels) the runs it runs inside: they hold what they hold
for it too.
A run's leases are released with its end (LedgerWriter.run_finished) or its crash
(maintenance.mark_run_crashed), so a holder killed with -9 frees them once recovery finds it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from engine.ledger.control import insert_request
from engine.ledger.statements import RELEASE_LEASE
from engine.ledger.status_sql import ACTIVE_RUN
from engine.ledger.times import to_iso

GROUP = "group"
POOL = "pool"

_INSERT = (
    "INSERT INTO leases (kind, name, capacity, run_id, step_id, requested_at)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
_OPEN = (
    "SELECT id, run_id, step_id, acquired_at IS NOT NULL FROM leases"
    " WHERE kind = ? AND name = ? AND released_at IS NULL ORDER BY id"
)
_ACTIVE = f"SELECT 1 FROM runs WHERE id = ? AND status IN {ACTIVE_RUN}"
_ANCESTORS = (
    "WITH RECURSIVE up(id, depth) AS (SELECT parent_run_id, 1 FROM runs WHERE id = ?"
    " UNION SELECT runs.parent_run_id, up.depth + 1 FROM runs JOIN up ON runs.id = up.id"
    " WHERE up.depth < 100) SELECT id FROM up WHERE id IS NOT NULL"
)
_ACQUIRE = "UPDATE leases SET acquired_at = ? WHERE id = ? AND released_at IS NULL"


@dataclass(frozen=True)
class Grant:
    """The answer to one waiting lease: acquired, or which runs hold its name meanwhile."""

    lease_id: int
    acquired: bool
    holders: tuple[str, ...] = ()  # run ids holding the name, oldest first
    released: bool = False  # released by someone else meanwhile (the run ended, recovery)


def _try(conn: sqlite3.Connection, lease_id: int, at: str) -> Grant:
    row = conn.execute(
        "SELECT kind, name, capacity, acquired_at, released_at, run_id FROM leases WHERE id = ?",
        (lease_id,),
    ).fetchone()
    if row is None or row[4] is not None:
        return Grant(lease_id, acquired=False, released=True)
    kind, name, capacity, acquired_at, _, own_run = row
    if acquired_at is not None:
        return Grant(lease_id, acquired=True)
    ancestors = _ancestors(conn, own_run)
    holders: list[str] = []
    ahead = 0
    inherited = False  # a run this one runs inside holds it: waiting would wait for ever
    for other_id, run_id, _step, held in conn.execute(_OPEN, (kind, name)):
        if run_id in ancestors:
            inherited = inherited or bool(held)
        elif held:
            holders.append(run_id)
        elif other_id < lease_id:
            ahead += 1
    if inherited or len(holders) + ahead < capacity:
        conn.execute(_ACQUIRE, (at, lease_id))
        return Grant(lease_id, acquired=True)
    return Grant(lease_id, acquired=False, holders=tuple(dict.fromkeys(holders)))


def request(
    conn: sqlite3.Connection,
    *,
    kind: str,
    name: str,
    capacity: int,
    run_id: str,
    step_id: str | None,
    at: float,
    cancel_others_as: str | None = None,
) -> Grant:
    """Queue a lease and acquire it at once if it is free.

    With `cancel_others_as`, every other run holding or waiting for the name is sent a cancel
    request under that name (GitHub Actions' cancel-in-progress).
    """
    ts = to_iso(at)
    if cancel_others_as is not None:
        mine = {run_id, *_ancestors(conn, run_id)}
        others = dict.fromkeys(
            run for _, run, _, _ in conn.execute(_OPEN, (kind, name)) if run not in mine
        )
        for other in others:
            if conn.execute(_ACTIVE, (other,)).fetchone() is not None:
                insert_request(conn, other, None, cancel_others_as, at)
    cursor = conn.execute(_INSERT, (kind, name, capacity, run_id, step_id, ts))
    lease_id = cursor.lastrowid
    assert lease_id is not None
    return _try(conn, lease_id, ts)


def _ancestors(conn: sqlite3.Connection, run_id: str) -> set[str]:
    """The runs `run_id` runs inside (its parent's plan step, and theirs): a sub-plan's leases
    are granted past theirs, as a re-entrant lock is to the thread holding it."""
    return {row[0] for row in conn.execute(_ANCESTORS, (run_id,))}


def try_acquire(conn: sqlite3.Connection, lease_ids: Sequence[int], at: float) -> list[Grant]:
    """Try again to acquire waiting leases, in the order given (their own order, oldest first)."""
    ts = to_iso(at)
    return [_try(conn, lease_id, ts) for lease_id in lease_ids]


def release(conn: sqlite3.Connection, lease_id: int, at: float) -> None:
    """Release a held lease, or withdraw a waiting one; releasing twice changes nothing."""
    conn.execute(RELEASE_LEASE, (to_iso(at), lease_id))
