"""Cancel requests: the one write `engine cancel` and the dashboard make, a short sync transaction.

The engine that owns the run polls for pending requests (LedgerWriter.pending_cancel_requests)
and acts on them; nothing here signals a process directly.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from engine.errors import UnknownRun, UserError
from engine.ledger.connection import connect_writable, translate_errors
from engine.ledger.statements import INSERT_EVENT
from engine.ledger.times import to_iso
from engine.ledger.transactions import write_transaction
from engine.states import EventType, ExitCode, RunStatus, StepStatus


def insert_request(
    conn: sqlite3.Connection, run_id: str, step_id: str | None, requested_by: str, at: float
) -> int:
    """Insert a cancel request and its event inside the caller's write transaction."""
    row = conn.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
    if row is None:
        raise UnknownRun(f"There is no run {run_id!r} in the ledger.")
    status = RunStatus(row[0])
    if step_id is not None:
        # A step's checks come first: a finished run's step is a finished step (exit 2, like
        # any step that cannot be canceled), and a misspelt one is named as such.
        step = conn.execute(
            "SELECT status FROM run_steps WHERE run_id = ? AND step_id = ?", (run_id, step_id)
        ).fetchone()
        if step is None:
            raise UserError(f"Run {run_id} has no step {step_id!r}.")
        if StepStatus(step[0]).is_final:
            # The engine would ignore it: say so rather than record a request nothing acts on.
            raise UserError(
                f"Step {step_id} of run {run_id} already finished ({step[0]}); "
                "only a pending or running step can be canceled.",
                code="already_finished",
            )
        if status.is_final:
            raise UserError(
                f"Run {run_id} already finished ({status}); its steps can no longer be canceled.",
                code="already_finished",
            )
    if status.is_final:
        raise UserError(
            f"Run {run_id} already finished ({status}).", ExitCode.FAILED, code="already_finished"
        )
    ts = to_iso(at)
    cursor = conn.execute(
        "INSERT INTO cancel_requests (run_id, step_id, requested_at, requested_by)"
        " VALUES (?, ?, ?, ?)",
        (run_id, step_id, ts, requested_by),
    )
    request_id = cursor.lastrowid
    assert request_id is not None
    data = json.dumps({"request_id": request_id, "requested_by": requested_by})
    conn.execute(INSERT_EVENT, (run_id, step_id, None, str(EventType.CANCEL_REQUESTED), ts, data))
    return request_id


def request_cancel(
    path: Path,
    run_id: str,
    step_id: str | None = None,
    *,
    requested_by: str,
    at: float | None = None,
) -> int:
    """Ask the engine running `run_id` to cancel it (or one step); returns the request id.

    Raises UserError for an unknown run or step or a step that already finished (exit 2), or a
    run that already finished (exit 1).
    The request and its cancel_requested event are committed together.
    """
    conn = connect_writable(path)
    try:
        with translate_errors(path), write_transaction(conn):
            request_id = insert_request(
                conn, run_id, step_id, requested_by, time.time() if at is None else at
            )
    finally:
        conn.close()
    return request_id
