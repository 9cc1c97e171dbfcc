"""The statistics behind `engine stats` and the dashboard's stats view (called by LedgerReader)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from engine.ledger.records import PlanStats, Stats, StepStats
from engine.ledger.status_sql import ACTIVE_RUN, SETTLED_STEP
from engine.ledger.times import to_iso
from engine.states import RunStatus

Query = Callable[[str, Sequence[Any]], list[Any]]

_RUNS_BY_STATUS = (
    "SELECT status, count(*) FROM runs WHERE created_at >= ? AND created_at < ? GROUP BY status"
)

# Nearest-rank percentiles through window functions: SQLite has no percentile aggregate.
_PLAN_STATS = f"""
WITH finished AS (
    SELECT plan_name, status, duration_ms FROM runs
    WHERE created_at >= ? AND created_at < ?
      AND status NOT IN {ACTIVE_RUN}
),
ranked AS (
    SELECT plan_name, duration_ms,
           row_number() OVER (PARTITION BY plan_name ORDER BY duration_ms) AS rank,
           count(*) OVER (PARTITION BY plan_name) AS n
    FROM finished WHERE status = 'succeeded' AND duration_ms IS NOT NULL
),
percentiles AS (
    SELECT plan_name,
           min(CASE WHEN rank >= 0.50 * n THEN duration_ms END) AS p50_ms,
           min(CASE WHEN rank >= 0.95 * n THEN duration_ms END) AS p95_ms
    FROM ranked GROUP BY plan_name
)
SELECT f.plan_name, count(*), avg(f.status IN ('failed', 'crashed')), p.p50_ms, p.p95_ms
FROM finished f LEFT JOIN percentiles p ON p.plan_name = f.plan_name
GROUP BY f.plan_name ORDER BY f.plan_name
"""

_STEP_STATS = f"""
WITH finished AS (
    SELECT r.plan_name, s.step_id, s.status, s.attempts, s.duration_ms
    FROM runs r JOIN run_steps s ON s.run_id = r.id
    WHERE r.created_at >= ? AND r.created_at < ? AND s.status IN {SETTLED_STEP}
),
ranked AS (
    SELECT plan_name, step_id, duration_ms,
           row_number() OVER (PARTITION BY plan_name, step_id ORDER BY duration_ms) AS rank,
           count(*) OVER (PARTITION BY plan_name, step_id) AS n
    FROM finished WHERE status = 'succeeded' AND duration_ms IS NOT NULL
),
percentiles AS (
    SELECT plan_name, step_id,
           min(CASE WHEN rank >= 0.50 * n THEN duration_ms END) AS p50_ms,
           min(CASE WHEN rank >= 0.95 * n THEN duration_ms END) AS p95_ms
    FROM ranked GROUP BY plan_name, step_id
)
SELECT f.plan_name, f.step_id, count(*), avg(f.status = 'failed'), avg(f.attempts > 1),
       p.p50_ms, p.p95_ms
FROM finished f
LEFT JOIN percentiles p ON p.plan_name = f.plan_name AND p.step_id = f.step_id
GROUP BY f.plan_name, f.step_id ORDER BY f.plan_name, f.step_id
"""

_ATTEMPTS_PER_BUCKET = """
SELECT CAST((julianday(started_at) - julianday(?)) * 86400.0 / ? AS INTEGER) AS bucket, count(*)
FROM step_attempts WHERE started_at >= ? AND started_at < ?
GROUP BY bucket
"""


def compute_stats(query: Query, *, since: float, until: float, buckets: int, top: int) -> Stats:
    """Run the stats queries through `query` (one read transaction, held by the caller)."""
    window = (to_iso(since), to_iso(until))
    by_status = {RunStatus(status): count for status, count in query(_RUNS_BY_STATUS, window)}
    finished = sum(n for status, n in by_status.items() if status.is_final)
    succeeded = by_status.get(RunStatus.SUCCEEDED, 0)
    plans = tuple(PlanStats(*row) for row in query(_PLAN_STATS, window))
    steps = tuple(StepStats(*row) for row in query(_STEP_STATS, window))
    flaky = sorted(
        (s for s in steps if s.failure_rate or s.retry_rate),
        key=lambda s: (s.failure_rate + s.retry_rate, s.runs),
        reverse=True,
    )
    slow = sorted(
        (s for s in steps if s.p95_ms is not None), key=lambda s: s.p95_ms or 0, reverse=True
    )
    bucket_sec = max(until - since, 1e-3) / max(buckets, 1)
    counts = [0] * max(buckets, 1)
    rows = query(_ATTEMPTS_PER_BUCKET, (window[0], bucket_sec, *window))
    for bucket, count in rows:
        counts[min(max(int(bucket), 0), len(counts) - 1)] += count
    return Stats(
        since=since,
        until=until,
        runs_by_status=by_status,
        success_rate=succeeded / finished if finished else None,
        plans=plans,
        steps=steps,
        flakiest_steps=tuple(flaky[:top]),
        slowest_steps=tuple(slow[:top]),
        bucket_sec=bucket_sec,
        attempts_per_bucket=tuple(counts),
    )
