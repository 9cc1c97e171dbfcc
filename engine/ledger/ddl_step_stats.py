"""Migration 9: v_step_stats ranks memory and CPU apart (engine/ledger/ddl.py lists it)."""

from __future__ import annotations

# v_step_stats ranks memory and CPU apart: an attempt's max_rss_kb is NULL when its peak could
# not be told from the engine's own (engine/executors/peak_memory.py), its CPU time still counts.
V9_STEP_STATS_APART = """
DROP VIEW v_step_stats;
CREATE VIEW v_step_stats AS
WITH finished AS (
    SELECT r.plan_name, s.run_id, s.step_id, s.status, s.attempts, s.duration_ms
    FROM run_steps s JOIN runs r ON r.id = s.run_id
    WHERE s.status IN ('succeeded', 'failed')
),
ranked AS (
    SELECT plan_name, step_id, duration_ms,
           row_number() OVER (PARTITION BY plan_name, step_id ORDER BY duration_ms) AS rank,
           count(*) OVER (PARTITION BY plan_name, step_id) AS n
    FROM finished
    WHERE status = 'succeeded' AND duration_ms IS NOT NULL
),
percentiles AS (
    -- Nearest-rank percentiles: SQLite has no percentile function.
    SELECT plan_name, step_id,
           min(CASE WHEN rank >= 0.50 * n THEN duration_ms END) AS p50_ms,
           min(CASE WHEN rank >= 0.95 * n THEN duration_ms END) AS p95_ms
    FROM ranked GROUP BY plan_name, step_id
),
attempts AS (
    -- Every measured attempt of a finished step, retries included: each one needed its memory.
    SELECT f.plan_name, f.step_id, a.max_rss_kb, a.cpu_user_ms + a.cpu_sys_ms AS cpu_ms
    FROM finished f
    JOIN step_attempts a ON a.run_id = f.run_id AND a.step_id = f.step_id
),
memory AS (
    SELECT plan_name, step_id, max_rss_kb,
           row_number() OVER (PARTITION BY plan_name, step_id ORDER BY max_rss_kb) AS rank,
           count(*) OVER (PARTITION BY plan_name, step_id) AS n
    FROM attempts WHERE max_rss_kb IS NOT NULL
),
cpu AS (
    SELECT plan_name, step_id, cpu_ms,
           row_number() OVER (PARTITION BY plan_name, step_id ORDER BY cpu_ms) AS rank,
           count(*) OVER (PARTITION BY plan_name, step_id) AS n
    FROM attempts WHERE cpu_ms IS NOT NULL
),
rss_p95 AS (
    SELECT plan_name, step_id, min(CASE WHEN rank >= 0.95 * n THEN max_rss_kb END) AS kb
    FROM memory GROUP BY plan_name, step_id
),
cpu_p95 AS (
    SELECT plan_name, step_id, min(CASE WHEN rank >= 0.95 * n THEN cpu_ms END) AS ms
    FROM cpu GROUP BY plan_name, step_id
)
SELECT f.plan_name, f.step_id,
       count(*) AS runs,
       round(avg(f.status = 'failed'), 4) AS failure_rate,
       round(avg(f.attempts > 1), 4) AS retry_rate,
       p.p50_ms, p.p95_ms, m.kb AS p95_max_rss_kb, c.ms AS p95_cpu_ms
FROM finished f
LEFT JOIN percentiles p ON p.plan_name = f.plan_name AND p.step_id = f.step_id
LEFT JOIN rss_p95 m ON m.plan_name = f.plan_name AND m.step_id = f.step_id
LEFT JOIN cpu_p95 c ON c.plan_name = f.plan_name AND c.step_id = f.step_id
GROUP BY f.plan_name, f.step_id;
"""
