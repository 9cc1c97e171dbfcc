"""The one JSON shape of a run, a step, an attempt and an event, for every `--json` output.

Times are ISO-8601 UTC text with milliseconds (`2026-12-04T22:11:14.123Z`, as the ledger stores
them) and durations integer milliseconds (`*_ms`); `schema/records.schema.json` is the contract and
a test holds every command's output to it. This module imports no records at run time: `engine
run --json` shapes its events here and must not pay for the read API.
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING, Any

from engine.ledger.times import to_iso

if TYPE_CHECKING:
    from engine.ledger.owner import Owner
    from engine.ledger.records import (
        Attempt,
        Event,
        Lease,
        RunDetail,
        RunSummary,
        Stats,
        StepState,
    )

_TIME_KEYS = {"ts", "since", "until"}


def iso(at: float | None) -> str | None:
    """A `time.time()` value as ISO-8601 UTC text with milliseconds; None stays None."""
    return None if at is None else to_iso(at)


def event_json(
    *,
    id: int | None,
    run_id: str,
    step_id: str | None,
    attempt: int | None,
    type: str,
    ts: float,
    data: dict[str, Any] | None,
) -> dict[str, Any]:
    """An event; `id` is None only for events `engine run --json` prints before they commit."""
    return {
        "id": id,
        "run_id": run_id,
        "step_id": step_id,
        "attempt": attempt,
        "type": str(type),
        "ts": to_iso(ts),
        "data": data or {},  # JSON already: read from the ledger, or the engine's plain values
    }


def stored_event_json(event: Event) -> dict[str, Any]:
    """An event read back from the ledger, as `engine events --json` prints it."""
    return event_json(
        id=event.id, run_id=event.run_id, step_id=event.step_id, attempt=event.attempt,
        type=event.type, ts=event.ts, data=event.data,
    )  # fmt: skip


def run_json(run: RunSummary, now: float | None = None) -> dict[str, Any]:
    """A run as in `engine runs`; `elapsed_ms` is its duration, or the time so far while live."""
    if run.duration_ms is not None:
        elapsed_ms: int = run.duration_ms
    else:
        start = run.started_at or run.created_at
        elapsed_ms = max(0, round(((time.time() if now is None else now) - start) * 1000))
    return {
        "id": run.id,
        "plan_name": run.plan_name,
        "status": str(run.status),
        "created_at": to_iso(run.created_at),
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "duration_ms": run.duration_ms,
        "elapsed_ms": elapsed_ms,
        "steps_total": run.steps_total,
        "steps_done": run.steps_done,
        "steps_failed": run.steps_failed,
        "running_step_ids": list(run.running_step_ids),
        "resumed_from": run.resumed_from,
        "error": run.error,
        "exit_code": run.exit_code,
        "tags": list(run.tags),
        "waiting": None
        if run.waiting is None
        else {"concurrency_group": run.waiting.group, "waits_for": list(run.waiting.waits_for)},
    }


def run_detail_json(detail: RunDetail, now: float | None = None) -> dict[str, Any]:
    """A run as in `engine show`: the run fields, then its plan identity, vars and owner."""
    return {
        **run_json(detail.summary, now),
        "plan_hash": detail.plan_hash,
        "plan_version": detail.plan_version,
        "plan_path": detail.plan_path,
        "vars": dict(detail.vars),
        "owner": None if detail.owner is None else owner_json(detail.owner),
    }


def owner_json(owner: Owner) -> dict[str, Any]:
    """The engine process that ran a run; `started_at` is that process's start time."""
    return {
        "pid": owner.pid,
        "host": owner.host,
        "boot_id": owner.boot_id,
        "started_at": to_iso(owner.process_start_time),
    }


def step_json(step: StepState) -> dict[str, Any]:
    """One step of one run."""
    return {
        "run_id": step.run_id,
        "step_id": step.step_id,
        "position": step.position,
        "is_hook": step.is_hook,
        "status": str(step.status),
        "attempts": step.attempts,
        "started_at": iso(step.started_at),
        "finished_at": iso(step.finished_at),
        "duration_ms": step.duration_ms,
        "reason": step.reason,
    }


def attempt_json(attempt: Attempt) -> dict[str, Any]:
    """One attempt of one step."""
    return {
        "id": attempt.id,
        "run_id": attempt.run_id,
        "step_id": attempt.step_id,
        "attempt": attempt.attempt,
        "status": str(attempt.status),
        "error_code": attempt.error_code,
        "exit_code": attempt.exit_code,
        "signal": attempt.signal,
        "started_at": to_iso(attempt.started_at),
        "finished_at": iso(attempt.finished_at),
        "duration_ms": attempt.duration_ms,
        "pid": attempt.pid,
        "log_path": attempt.log_path,
        "output_tail": attempt.output_tail,
        "retry_reason": attempt.retry_reason,
        "delay_ms": attempt.delay_ms,
        "message": attempt.message,
        "cpu_user_ms": attempt.cpu_user_ms,
        "cpu_sys_ms": attempt.cpu_sys_ms,
        "max_rss_kb": attempt.max_rss_kb,
        "host": attempt.host,
        "worker": attempt.worker,
        "placed_at": iso(attempt.placed_at),
    }


def stats_json(stats: Stats) -> dict[str, Any]:
    """The overview of `engine stats`; the throughput buckets' width in whole milliseconds."""
    return {
        "runs_total": stats.runs_total,
        "since": to_iso(stats.since),
        "until": to_iso(stats.until),
        "runs_by_status": {str(status): n for status, n in stats.runs_by_status.items()},
        "success_rate": stats.success_rate,
        "plans": jsonable(stats.plans),
        "steps": jsonable(stats.steps),
        "flakiest_steps": jsonable(stats.flakiest_steps),
        "slowest_steps": jsonable(stats.slowest_steps),
        "bucket_ms": round(stats.bucket_sec * 1000),
        "attempts_per_bucket": list(stats.attempts_per_bucket),
    }


def jsonable(value: Any, key: str = "") -> Any:
    """Other records as JSON data: time fields (`*_at`, `ts`, `since`, `until`) as ISO text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, float) and (key.endswith("_at") or key in _TIME_KEYS):
        return to_iso(value)
    return value


def lease_json(lease: Lease) -> dict[str, Any]:
    """A run's concurrency group, or a step's pool slot, held, waited for or given back."""
    return {
        "id": lease.id,
        "kind": lease.kind,
        "name": lease.name,
        "capacity": lease.capacity,
        "run_id": lease.run_id,
        "step_id": lease.step_id,
        "state": lease.state,
        "requested_at": to_iso(lease.requested_at),
        "acquired_at": iso(lease.acquired_at),
        "released_at": iso(lease.released_at),
        "waits_for": list(lease.waits_for),
    }
