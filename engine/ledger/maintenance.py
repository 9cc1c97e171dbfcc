"""Writes made outside a running engine: marking crashed runs, and deleting old runs (gc)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from engine.ledger.connection import connect_readonly, connect_writable, translate_errors
from engine.ledger.statements import DURATION_SINCE, INSERT_EVENT, RELEASE_RUN_LEASES
from engine.ledger.status_sql import ACTIVE_RUN, STARTED_STEP, UNFINISHED_STEP
from engine.ledger.times import to_iso
from engine.ledger.transactions import write_transaction
from engine.states import AttemptStatus, ErrorCode, EventType, RunStatus, StepStatus

T = TypeVar("T")
_GC_RUNS_PER_TRANSACTION = 50  # keeps each delete transaction short for concurrent writers
_OLD_FINISHED = f"FROM runs WHERE created_at < ? AND status NOT IN {ACTIVE_RUN}"
_DELETE_UNUSED_PLANS = (
    "DELETE FROM plans WHERE NOT EXISTS (SELECT 1 FROM runs WHERE runs.plan_hash = plans.hash)"
)
_CRASH_RUN = (
    "UPDATE runs SET status = ?, finished_at = ?, error = ?, exit_code = NULL, duration_ms = "
    + DURATION_SINCE.format(col="coalesce(started_at, created_at)")
    + f" WHERE id = ? AND status IN {ACTIVE_RUN}"
)
_ABANDON_ATTEMPTS = (
    "UPDATE step_attempts SET status = ?, error_code = ?, finished_at = ?, duration_ms = "
    + DURATION_SINCE.format(col="started_at")
    + " WHERE run_id = ? AND status = ?"
)
# Every unfinished step is final now: a crashed run will never start or finish it.
_ABANDON_STEPS = (
    "UPDATE run_steps SET status = ?, finished_at = ?, reason = CASE"
    f" WHEN status IN {STARTED_STEP} THEN 'the engine running it died'"
    " ELSE 'never started: the engine running it died' END"
    f" WHERE run_id = ? AND status IN {UNFINISHED_STEP}"
)


@dataclass(frozen=True)
class GcPreview:
    """What `delete_runs_before` would delete now, and how big the ledger is."""

    run_ids: tuple[str, ...]  # oldest first
    events: int
    total_runs: int


@contextmanager
def _writable(path: Path) -> Iterator[sqlite3.Connection]:
    conn = connect_writable(path)
    try:
        yield conn
    finally:
        conn.close()


def _transaction(conn: sqlite3.Connection, path: Path, work: Callable[[], T]) -> T:
    with translate_errors(path), write_transaction(conn):
        return work()


def mark_run_crashed(path: Path, run_id: str, *, at: float, error: str) -> bool:
    """Mark a run whose owner is gone as crashed, its open attempts and unfinished steps abandoned.

    Returns False if the run is no longer pending or running (someone else recovered it).
    """
    ts = to_iso(at)

    def work(conn: sqlite3.Connection) -> bool:
        changed = conn.execute(_CRASH_RUN, (RunStatus.CRASHED, ts, error, ts, run_id)).rowcount
        if not changed:
            return False
        abandoned = (AttemptStatus.ABANDONED, ErrorCode.ABANDONED, ts, ts, run_id)
        conn.execute(_ABANDON_ATTEMPTS, (*abandoned, AttemptStatus.RUNNING))
        conn.execute(_ABANDON_STEPS, (StepStatus.ABANDONED, ts, run_id))
        conn.execute(RELEASE_RUN_LEASES, (ts, run_id))  # its slots go to the next waiter
        data = json.dumps({"error": error})
        conn.execute(INSERT_EVENT, (run_id, None, None, str(EventType.RUN_CRASHED), ts, data))
        return True

    with _writable(path) as conn:
        return _transaction(conn, path, lambda: work(conn))


def gc_preview(path: Path, *, before: float) -> GcPreview:
    """Count, without deleting, the finished runs created before `before` and their events."""
    cutoff = to_iso(before)
    with closing(connect_readonly(path)) as conn, translate_errors(path):
        conn.execute("BEGIN")  # one snapshot for the three answers
        rows = conn.execute(f"SELECT id {_OLD_FINISHED} ORDER BY created_at, id", (cutoff,))
        ids = [row[0] for row in rows]
        events = conn.execute(
            f"SELECT count(*) FROM events WHERE run_id IN (SELECT id {_OLD_FINISHED})", (cutoff,)
        ).fetchone()[0]
        total = conn.execute("SELECT count(*) FROM runs").fetchone()[0]
        conn.execute("COMMIT")
    return GcPreview(tuple(ids), int(events), int(total))


def delete_runs(path: Path, run_ids: Sequence[str]) -> list[str]:
    """Delete these runs, those of them that are finished, in one transaction; return those ids.

    `engine gc` deletes the runs its preview found, so a run that ends while gc works is kept
    (it was running when gc looked), and a confirmation covers exactly what goes.
    """
    marks = ", ".join("?" * len(run_ids))

    def work(conn: sqlite3.Connection) -> list[str]:
        ids = [
            row[0]
            for row in conn.execute(
                f"SELECT id FROM runs WHERE id IN ({marks})"
                f" AND status NOT IN {ACTIVE_RUN} ORDER BY created_at, id",
                list(run_ids),
            )
        ]
        conn.executemany("DELETE FROM runs WHERE id = ?", [(i,) for i in ids])
        conn.execute(_DELETE_UNUSED_PLANS)
        return ids

    if not run_ids:
        return []
    with _writable(path) as conn:
        return _transaction(conn, path, lambda: work(conn))


def delete_runs_before(path: Path, *, before: float) -> list[str]:
    """Delete finished runs created before `before`, with everything that belongs to them.

    Returns the deleted run ids, so the caller can remove their log directories. Plans no
    longer used by any run are deleted too.
    """
    cutoff = to_iso(before)
    deleted: list[str] = []
    with _writable(path) as conn:
        while True:

            def work() -> list[str]:
                ids = [
                    row[0]
                    for row in conn.execute(
                        f"SELECT id {_OLD_FINISHED} ORDER BY created_at LIMIT ?",
                        (cutoff, _GC_RUNS_PER_TRANSACTION),
                    )
                ]
                # ON DELETE CASCADE removes steps, attempts, events, outputs, cancel requests.
                conn.executemany("DELETE FROM runs WHERE id = ?", [(i,) for i in ids])
                return ids

            batch = _transaction(conn, path, work)
            deleted.extend(batch)
            if len(batch) < _GC_RUNS_PER_TRANSACTION:
                break
        _transaction(conn, path, lambda: conn.execute(_DELETE_UNUSED_PLANS))
    return deleted
