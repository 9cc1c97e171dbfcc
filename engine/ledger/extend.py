"""Extend requests: `engine extend` asks the engine running a run to lengthen a timeout.

As with cancel requests, the asker only writes a row; the engine that owns the run polls for it,
acts on it (or refuses) and records its answer in the same row, which the asker waits for.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import UserError
from engine.ledger.connection import connect_readonly, connect_writable, translate_errors
from engine.ledger.times import from_iso, from_iso_opt, to_iso
from engine.ledger.transactions import write_transaction
from engine.states import ExitCode, RunStatus

# How far ahead an extension may move a timeout: further than any run means, and a deadline must
# stay a time the ledger's ISO-8601 columns can hold (a year below 10000).
MAX_AHEAD_SEC = 366 * 86400

_COLUMNS = (
    "id, run_id, step_id, by_ms, until, requested_at, requested_by, handled_at, outcome,"
    " deadline, message"
)
PENDING = (
    f"SELECT {_COLUMNS} FROM extend_requests WHERE run_id = ? AND handled_at IS NULL ORDER BY id"
)
HANDLED = (
    "UPDATE extend_requests SET handled_at = ?, outcome = ?, deadline = ?, message = ? WHERE id = ?"
)


@dataclass(frozen=True)
class ExtendRequest:
    """A request to lengthen a run's timeout (no step) or a running step's, and its answer."""

    id: int
    run_id: str
    step_id: str | None
    by_sec: float | None  # lengthen by this much ...
    until: float | None  # ... or move the deadline to this time
    requested_at: float
    requested_by: str
    handled_at: float | None
    outcome: str | None  # "extended" or "refused", once handled
    deadline: float | None  # the new deadline, when extended
    message: str | None  # why it was refused, or what was extended

    def target(self, current: float) -> float:
        """The deadline this request asks for, given the current one."""
        return current + self.by_sec if self.by_sec is not None else float(self.until or 0.0)


def extend_request(row: Sequence[Any]) -> ExtendRequest:
    """One `extend_requests` row (in _COLUMNS order) as a record."""
    return ExtendRequest(
        id=row[0], run_id=row[1], step_id=row[2],
        by_sec=None if row[3] is None else row[3] / 1000, until=from_iso_opt(row[4]),
        requested_at=from_iso(row[5]), requested_by=row[6], handled_at=from_iso_opt(row[7]),
        outcome=row[8], deadline=from_iso_opt(row[9]), message=row[10],
    )  # fmt: skip


def request_extend(
    path: Path,
    run_id: str,
    step_id: str | None,
    *,
    by_sec: float | None,
    until: float | None,
    requested_by: str,
) -> int:
    """Ask the engine running `run_id` to lengthen its timeout, or a step's; the request id.

    UserError for an unknown run or step (exit 2) or a run that already finished (exit 1).
    """

    def work(conn: sqlite3.Connection) -> int:
        row = conn.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise UserError(f"There is no run {run_id!r} in the ledger.")
        if RunStatus(row[0]).is_final:
            raise UserError(f"Run {run_id} already finished ({row[0]}).", ExitCode.FAILED)
        if (
            step_id is not None
            and not conn.execute(
                "SELECT 1 FROM run_steps WHERE run_id = ? AND step_id = ?", (run_id, step_id)
            ).fetchone()
        ):
            raise UserError(f"Run {run_id} has no step {step_id!r}.")
        cursor = conn.execute(
            "INSERT INTO extend_requests (run_id, step_id, by_ms, until, requested_at,"
            " requested_by) VALUES (?, ?, ?, ?, ?, ?)",
            (
                run_id, step_id, None if by_sec is None else round(by_sec * 1000),
                None if until is None else to_iso(until), to_iso(time.time()), requested_by,
            ),
        )  # fmt: skip
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    with closing(connect_writable(path)) as conn, translate_errors(path), write_transaction(conn):
        return work(conn)


def read_request(path: Path, request_id: int) -> ExtendRequest | None:
    """The request as it stands now (answered or not)."""
    with closing(connect_readonly(path)) as conn, translate_errors(path):
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM extend_requests WHERE id = ?", (request_id,)
        ).fetchone()
    return None if row is None else extend_request(row)
