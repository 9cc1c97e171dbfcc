"""The ledger's schema as SQL text: an append-only list of migrations (docs/ledger.md documents it).

`MIGRATIONS[i]` takes a ledger from `user_version` i to i + 1. A released migration is never
edited: changes go in a new one, so every ledger ever written can be brought forward.
`engine/ledger/schema.py` applies them.
"""

from __future__ import annotations

from engine.ledger.ddl_step_stats import V9_STEP_STATS_APART as _V9_STEP_STATS_APART

_V1 = """
CREATE TABLE plans (
    hash        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    version     TEXT,
    plan_json   TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE runs (
    id                TEXT PRIMARY KEY,
    plan_hash         TEXT NOT NULL REFERENCES plans(hash),
    plan_name         TEXT NOT NULL,
    plan_path         TEXT,
    status            TEXT NOT NULL CHECK (status IN
                        ('pending', 'running', 'succeeded', 'partial', 'failed', 'canceled',
                         'crashed')),
    vars_json         TEXT NOT NULL DEFAULT '{}',
    created_at        TEXT NOT NULL,
    started_at        TEXT,
    finished_at       TEXT,
    duration_ms       INTEGER,
    steps_total       INTEGER NOT NULL,
    owner_pid         INTEGER,
    owner_start_time  REAL,
    owner_host        TEXT,
    owner_boot_id     TEXT,
    resumed_from      TEXT,
    error             TEXT,
    exit_code         INTEGER
);
CREATE INDEX runs_created ON runs(created_at, id);
CREATE INDEX runs_status_created ON runs(status, created_at, id);
CREATE INDEX runs_plan_created ON runs(plan_name, created_at, id);
CREATE INDEX runs_started ON runs(started_at);
CREATE INDEX runs_plan_hash ON runs(plan_hash);

CREATE TABLE run_steps (
    run_id       TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step_id      TEXT NOT NULL,
    position     INTEGER NOT NULL,
    is_hook      INTEGER NOT NULL DEFAULT 0 CHECK (is_hook IN (0, 1)),
    status       TEXT NOT NULL CHECK (status IN
                   ('pending', 'ready', 'running', 'retrying', 'succeeded', 'failed', 'skipped',
                    'canceled', 'reused', 'abandoned')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    started_at   TEXT,
    finished_at  TEXT,
    duration_ms  INTEGER,
    reason       TEXT,
    PRIMARY KEY (run_id, step_id)
) WITHOUT ROWID;
CREATE INDEX run_steps_status ON run_steps(run_id, status, is_hook);

CREATE TABLE step_attempts (
    id            INTEGER PRIMARY KEY,
    run_id        TEXT NOT NULL,
    step_id       TEXT NOT NULL,
    attempt       INTEGER NOT NULL,
    status        TEXT NOT NULL CHECK (status IN
                    ('running', 'succeeded', 'failed', 'canceled', 'abandoned')),
    error_code    TEXT,
    exit_code     INTEGER,
    signal        INTEGER,
    started_at    TEXT NOT NULL,
    finished_at   TEXT,
    duration_ms   INTEGER,
    pid           INTEGER,
    log_path      TEXT,
    output_tail   TEXT,
    retry_reason  TEXT,
    delay_ms      INTEGER,
    message       TEXT,
    UNIQUE (run_id, step_id, attempt),
    FOREIGN KEY (run_id, step_id) REFERENCES run_steps(run_id, step_id) ON DELETE CASCADE
);
CREATE INDEX step_attempts_started ON step_attempts(started_at);

CREATE TABLE events (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id   TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step_id  TEXT,
    attempt  INTEGER,
    type     TEXT NOT NULL,
    ts       TEXT NOT NULL,
    data     TEXT CHECK (data IS NULL OR json_valid(data))
);
CREATE INDEX events_run ON events(run_id, id);

CREATE TABLE outputs (
    run_id   TEXT NOT NULL,
    step_id  TEXT NOT NULL,
    attempt  INTEGER NOT NULL,
    name     TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (run_id, step_id, name),
    FOREIGN KEY (run_id, step_id) REFERENCES run_steps(run_id, step_id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE TABLE cancel_requests (
    id            INTEGER PRIMARY KEY,
    run_id        TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step_id       TEXT,
    requested_at  TEXT NOT NULL,
    requested_by  TEXT NOT NULL,
    handled_at    TEXT
);
CREATE INDEX cancel_requests_pending ON cancel_requests(run_id, handled_at);

CREATE VIEW v_run_summary AS
SELECT r.id, r.plan_name, r.status, r.created_at, r.started_at, r.finished_at,
       coalesce(r.duration_ms,
                CAST(round((julianday('now') - julianday(coalesce(r.started_at, r.created_at)))
                           * 86400000) AS INTEGER)) AS duration_ms,
       r.steps_total,
       (SELECT count(*) FROM run_steps s WHERE s.run_id = r.id AND s.is_hook = 0
          AND s.status IN ('succeeded', 'failed', 'skipped', 'canceled', 'reused', 'abandoned'))
         AS steps_done,
       (SELECT count(*) FROM run_steps s WHERE s.run_id = r.id AND s.status = 'failed')
         AS steps_failed,
       (SELECT coalesce(sum(s.attempts), 0) FROM run_steps s WHERE s.run_id = r.id) AS attempts,
       r.resumed_from, r.error, r.exit_code
FROM runs r;

CREATE VIEW v_active_runs AS
SELECT r.id, r.plan_name, r.status, r.started_at,
       CAST(round((julianday('now') - julianday(coalesce(r.started_at, r.created_at)))
                  * 86400) AS INTEGER) AS elapsed_sec,
       r.steps_total,
       (SELECT count(*) FROM run_steps s WHERE s.run_id = r.id AND s.is_hook = 0
          AND s.status IN ('succeeded', 'failed', 'skipped', 'canceled', 'reused', 'abandoned'))
         AS steps_done,
       (SELECT group_concat(s.step_id, ' ') FROM run_steps s
         WHERE s.run_id = r.id AND s.status = 'running') AS running_steps,
       r.owner_pid, r.owner_host
FROM runs r
WHERE r.status IN ('pending', 'running');

CREATE VIEW v_step_stats AS
WITH finished AS (
    SELECT r.plan_name, s.step_id, s.status, s.attempts, s.duration_ms
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
)
SELECT f.plan_name, f.step_id,
       count(*) AS runs,
       round(avg(f.status = 'failed'), 4) AS failure_rate,
       round(avg(f.attempts > 1), 4) AS retry_rate,
       p.p50_ms, p.p95_ms
FROM finished f
LEFT JOIN percentiles p ON p.plan_name = f.plan_name AND p.step_id = f.step_id
GROUP BY f.plan_name, f.step_id;
"""

# Step fingerprints (engine.plan.fingerprint), for resume with an edited plan and the step cache:
# where a reused or cached step's result came from, and the cache key a later run looks up.
_V2_FINGERPRINTS = """
ALTER TABLE run_steps ADD COLUMN fingerprint TEXT;
ALTER TABLE run_steps ADD COLUMN fingerprint_parts TEXT
    CHECK (fingerprint_parts IS NULL OR json_valid(fingerprint_parts));
ALTER TABLE run_steps ADD COLUMN cache_key TEXT;
ALTER TABLE run_steps ADD COLUMN source_run TEXT;
ALTER TABLE run_steps ADD COLUMN source_attempt INTEGER;
CREATE INDEX run_steps_cache_key ON run_steps(cache_key, finished_at) WHERE cache_key IS NOT NULL;
"""


# Concurrency groups and pools shared by every run on the ledger (engine/ledger/leases.py).
_V3_LEASES = """
CREATE TABLE leases (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('group', 'pool')),
    name          TEXT NOT NULL,
    capacity      INTEGER NOT NULL CHECK (capacity >= 1),
    run_id        TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step_id       TEXT,
    requested_at  TEXT NOT NULL,
    acquired_at   TEXT,
    released_at   TEXT
);
CREATE INDEX leases_open ON leases(released_at, kind, name, id);
CREATE INDEX leases_run ON leases(run_id, released_at);

CREATE VIEW v_leases AS
SELECT l.id, l.kind, l.name, l.capacity, l.run_id, l.step_id,
       CASE WHEN l.released_at IS NOT NULL AND l.acquired_at IS NULL THEN 'withdrawn'
            WHEN l.released_at IS NOT NULL THEN 'released'
            WHEN l.acquired_at IS NOT NULL THEN 'held'
            ELSE 'waiting' END AS state,
       l.requested_at, l.acquired_at, l.released_at,
       CAST(round((julianday(coalesce(l.acquired_at, l.released_at, 'now'))
                   - julianday(l.requested_at)) * 86400000) AS INTEGER) AS waited_ms,
       CASE WHEN l.acquired_at IS NOT NULL THEN
         CAST(round((julianday(coalesce(l.released_at, 'now')) - julianday(l.acquired_at))
                    * 86400000) AS INTEGER) END AS held_ms
FROM leases l;
"""


# A plan's `tags` (a JSON array, or NULL), kept apart from plan_json so that `engine runs --tag`
# and the dashboard's tag: filter never parse whole plans; filled in for the plans already stored.
_V4_PLAN_TAGS = """
ALTER TABLE plans ADD COLUMN tags TEXT CHECK (tags IS NULL OR json_valid(tags));
UPDATE plans SET tags = json_extract(plan_json, '$.tags')
    WHERE json_valid(plan_json) AND json_type(plan_json, '$.tags') = 'array';
"""

# Per-attempt resources (rusage from wait4), and v_step_stats with their p95 per step.
_V5_RESOURCES = """
ALTER TABLE step_attempts ADD COLUMN cpu_user_ms INTEGER;
ALTER TABLE step_attempts ADD COLUMN cpu_sys_ms INTEGER;
ALTER TABLE step_attempts ADD COLUMN max_rss_kb INTEGER;

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
used AS (
    -- Every measured attempt of a finished step, retries included: each one needed its memory.
    SELECT f.plan_name, f.step_id, a.max_rss_kb, a.cpu_user_ms + a.cpu_sys_ms AS cpu_ms,
           row_number() OVER (PARTITION BY f.plan_name, f.step_id ORDER BY a.max_rss_kb)
             AS rss_rank,
           row_number() OVER (PARTITION BY f.plan_name, f.step_id
                              ORDER BY a.cpu_user_ms + a.cpu_sys_ms) AS cpu_rank,
           count(*) OVER (PARTITION BY f.plan_name, f.step_id) AS n
    FROM finished f
    JOIN step_attempts a ON a.run_id = f.run_id AND a.step_id = f.step_id
    WHERE a.max_rss_kb IS NOT NULL AND a.cpu_user_ms IS NOT NULL AND a.cpu_sys_ms IS NOT NULL
),
resources AS (
    SELECT plan_name, step_id,
           min(CASE WHEN rss_rank >= 0.95 * n THEN max_rss_kb END) AS p95_max_rss_kb,
           min(CASE WHEN cpu_rank >= 0.95 * n THEN cpu_ms END) AS p95_cpu_ms
    FROM used GROUP BY plan_name, step_id
)
SELECT f.plan_name, f.step_id,
       count(*) AS runs,
       round(avg(f.status = 'failed'), 4) AS failure_rate,
       round(avg(f.attempts > 1), 4) AS retry_rate,
       p.p50_ms, p.p95_ms, u.p95_max_rss_kb, u.p95_cpu_ms
FROM finished f
LEFT JOIN percentiles p ON p.plan_name = f.plan_name AND p.step_id = f.step_id
LEFT JOIN resources u ON u.plan_name = f.plan_name AND u.step_id = f.step_id
GROUP BY f.plan_name, f.step_id;
"""


# `engine extend`: asks the engine running a run to lengthen its timeout or a step's
# (engine/ledger/extend.py); the engine records its answer in the row.
_V6_EXTEND_REQUESTS = """
CREATE TABLE extend_requests (
    id            INTEGER PRIMARY KEY,
    run_id        TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step_id       TEXT,
    by_ms         INTEGER CHECK (by_ms IS NULL OR by_ms > 0),
    until         TEXT,
    requested_at  TEXT NOT NULL,
    requested_by  TEXT NOT NULL,
    handled_at    TEXT,
    outcome       TEXT CHECK (outcome IS NULL OR outcome IN ('extended', 'refused')),
    deadline      TEXT,
    message       TEXT,
    CHECK ((by_ms IS NULL) <> (until IS NULL))
);
CREATE INDEX extend_requests_pending ON extend_requests(run_id, handled_at);
"""

# A sub-plan's run names the run and plan step that ran it (docs/plans.md, "Sub-plans").
_V7_SUB_PLANS = """
ALTER TABLE runs ADD COLUMN parent_run_id TEXT;
ALTER TABLE runs ADD COLUMN parent_step_id TEXT;
CREATE INDEX runs_parent ON runs(parent_run_id) WHERE parent_run_id IS NOT NULL;
"""

# Circuit breakers (engine/ledger/circuits.py): the key an attempt of a step with a `circuit`
# counts under, so a circuit's state is one indexed query across runs and plans.
_V8_CIRCUITS = """
ALTER TABLE step_attempts ADD COLUMN circuit_key TEXT;
CREATE INDEX step_attempts_circuit ON step_attempts(circuit_key, finished_at)
    WHERE circuit_key IS NOT NULL;
"""

# Where an attempt ran, when a cluster ran it (docs/cli.md, "engine run PLAN --executor dask"):
# the host and worker, and when a worker started it (started_at is its submission).
# v_step_stats gains p95_queue_ms: how long a step's attempts waited for a cluster worker.
_V10_PLACEMENT = """
ALTER TABLE step_attempts ADD COLUMN host TEXT;
ALTER TABLE step_attempts ADD COLUMN worker TEXT;
ALTER TABLE step_attempts ADD COLUMN placed_at TEXT;
""" + _V9_STEP_STATS_APART.replace(
    """
cpu_p95 AS (""",
    """
queued AS (
    SELECT f.plan_name, f.step_id,
           round((julianday(a.placed_at) - julianday(a.started_at)) * 86400000) AS ms
    FROM finished f
    JOIN step_attempts a ON a.run_id = f.run_id AND a.step_id = f.step_id
    WHERE a.placed_at IS NOT NULL
),
queue_ranked AS (
    SELECT plan_name, step_id, ms,
           row_number() OVER (PARTITION BY plan_name, step_id ORDER BY ms) AS rank,
           count(*) OVER (PARTITION BY plan_name, step_id) AS n
    FROM queued
),
queue_p95 AS (
    SELECT plan_name, step_id, CAST(min(CASE WHEN rank >= 0.95 * n THEN ms END) AS INTEGER) AS ms
    FROM queue_ranked GROUP BY plan_name, step_id
),
cpu_p95 AS (""",
).replace(
    "m.kb AS p95_max_rss_kb, c.ms AS p95_cpu_ms\n",
    "m.kb AS p95_max_rss_kb, c.ms AS p95_cpu_ms, q.ms AS p95_queue_ms\n",
).replace(
    "LEFT JOIN cpu_p95 c ON c.plan_name = f.plan_name AND c.step_id = f.step_id\n",
    "LEFT JOIN cpu_p95 c ON c.plan_name = f.plan_name AND c.step_id = f.step_id\n"
    "LEFT JOIN queue_p95 q ON q.plan_name = f.plan_name AND q.step_id = f.step_id\n",
)

MIGRATIONS: list[str] = [
    _V1, _V2_FINGERPRINTS, _V3_LEASES, _V4_PLAN_TAGS, _V5_RESOURCES, _V6_EXTEND_REQUESTS,
    _V7_SUB_PLANS,
    _V8_CIRCUITS,
    _V9_STEP_STATS_APART,
    _V10_PLACEMENT,
]  # fmt: skip
