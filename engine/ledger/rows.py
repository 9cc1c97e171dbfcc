"""The read API's SELECT column lists, and how each row becomes a record (`records.py`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from engine.ledger.records import Attempt, Event, GroupWait, RunSummary, StepState
from engine.ledger.status_sql import ACTIVE_RUN
from engine.ledger.times import from_iso, from_iso_opt
from engine.states import AttemptStatus, RunStatus, StepStatus

FINAL_STEP_STATUSES = "('succeeded', 'failed', 'skipped', 'canceled', 'reused', 'abandoned')"
SUMMARY_COLUMNS = f"""
    r.id, r.plan_name, r.status, r.created_at, r.started_at, r.finished_at, r.duration_ms,
    r.steps_total,
    (SELECT count(*) FROM run_steps s WHERE s.run_id = r.id AND s.is_hook = 0
       AND s.status IN {FINAL_STEP_STATUSES}),
    (SELECT count(*) FROM run_steps s WHERE s.run_id = r.id AND s.status = 'failed'),
    (SELECT count(*) FROM run_steps s WHERE s.run_id = r.id AND s.is_hook = 0
       AND s.status = 'canceled'),
    (SELECT json_group_array(s.step_id) FROM run_steps s
      WHERE s.run_id = r.id AND s.status = 'running'),
    r.resumed_from, r.error, r.exit_code,
    (SELECT pt.tags FROM plans pt WHERE pt.hash = r.plan_hash),
    CASE WHEN r.status IN {ACTIVE_RUN} THEN
      (SELECT json_array(w.name, (SELECT json_group_array(DISTINCT h.run_id) FROM leases h
          WHERE h.kind = w.kind AND h.name = w.name AND h.released_at IS NULL
            AND h.acquired_at IS NOT NULL))
         FROM leases w WHERE w.run_id = r.id AND w.released_at IS NULL AND w.kind = 'group'
          AND w.acquired_at IS NULL LIMIT 1)
    END,
    r.parent_run_id"""
SUMMARY_WIDTH = 18
STEP_COLUMNS = (
    "run_id, step_id, position, is_hook, status, attempts, started_at, finished_at,"
    " duration_ms, reason"
)
ATTEMPT_COLUMNS = (
    "id, run_id, step_id, attempt, status, error_code, exit_code, signal, started_at,"
    " finished_at, duration_ms, pid, log_path, output_tail, retry_reason, delay_ms, message,"
    " cpu_user_ms, cpu_sys_ms, max_rss_kb, host, worker, placed_at"
)
EVENT_COLUMNS = "id, run_id, step_id, attempt, type, ts, data"


def summary_of(row: Sequence[Any]) -> RunSummary:
    return RunSummary(
        id=row[0],
        plan_name=row[1],
        status=RunStatus(row[2]),
        created_at=from_iso(row[3]),
        started_at=from_iso_opt(row[4]),
        finished_at=from_iso_opt(row[5]),
        duration_ms=row[6],
        steps_total=row[7],
        steps_done=row[8],
        steps_failed=row[9],
        steps_canceled=row[10],
        running_step_ids=tuple(sorted(json.loads(row[11]))),
        resumed_from=row[12],
        error=row[13],
        exit_code=row[14],
        tags=tuple(json.loads(row[15])) if row[15] else (),
        waiting=_waiting(row[16]),
        parent_run_id=row[17],
    )


def _waiting(cell: str | None) -> GroupWait | None:
    if cell is None:
        return None
    group, holders = json.loads(cell)
    return GroupWait(group, tuple(holders))


def step_of(row: Sequence[Any]) -> StepState:
    return StepState(
        run_id=row[0],
        step_id=row[1],
        position=row[2],
        is_hook=bool(row[3]),
        status=StepStatus(row[4]),
        attempts=row[5],
        started_at=from_iso_opt(row[6]),
        finished_at=from_iso_opt(row[7]),
        duration_ms=row[8],
        reason=row[9],
    )


def attempt_of(row: Sequence[Any]) -> Attempt:
    return Attempt(
        id=row[0],
        run_id=row[1],
        step_id=row[2],
        attempt=row[3],
        status=AttemptStatus(row[4]),
        error_code=row[5],
        exit_code=row[6],
        signal=row[7],
        started_at=from_iso(row[8]),
        finished_at=from_iso_opt(row[9]),
        duration_ms=row[10],
        pid=row[11],
        log_path=row[12],
        output_tail=row[13],
        retry_reason=row[14],
        delay_ms=row[15],
        message=row[16],
        cpu_user_ms=row[17],
        cpu_sys_ms=row[18],
        max_rss_kb=row[19],
        host=row[20],
        worker=row[21],
        placed_at=from_iso_opt(row[22]),
    )


def event_of(row: Sequence[Any]) -> Event:
    return Event(
        id=row[0],
        run_id=row[1],
        step_id=row[2],
        attempt=row[3],
        type=row[4],
        ts=from_iso(row[5]),
        data=None if row[6] is None else json.loads(row[6]),
    )
