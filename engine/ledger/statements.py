"""The SQL of the engine's write path: every statement LedgerWriter queues, in one place."""

from __future__ import annotations

from engine.ledger.status_sql import ACTIVE_RUN

DURATION_SINCE = "CAST(round((julianday(?) - julianday({col})) * 86400000) AS INTEGER)"

# The tags come out of the plan's JSON here, so every writer of a plan row stores them; the JSON is
# bound twice (plain `?`: numbered placeholders bound from a sequence are deprecated in sqlite3).
INSERT_PLAN = (
    "INSERT OR IGNORE INTO plans (hash, name, version, plan_json, created_at, tags)"
    " VALUES (?, ?, ?, ?, ?, json_extract(?, '$.tags'))"
)
INSERT_RUN = (
    "INSERT INTO runs (id, plan_hash, plan_name, plan_path, status, vars_json, created_at,"
    " steps_total, owner_pid, owner_start_time, owner_host, owner_boot_id, resumed_from)"
    " VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?)"
)
SET_RUN_PARENT = "UPDATE runs SET parent_run_id = ?, parent_step_id = ? WHERE id = ?"
INSERT_RUN_STEP = (
    "INSERT INTO run_steps (run_id, step_id, position, is_hook, status)"
    " VALUES (?, ?, ?, ?, 'pending')"
)
INSERT_EVENT = (
    "INSERT INTO events (run_id, step_id, attempt, type, ts, data) VALUES (?, ?, ?, ?, ?, ?)"
)
RUN_STARTED = "UPDATE runs SET started_at = ? WHERE id = ?"
STEP_READY = (
    "UPDATE run_steps SET status = 'ready', fingerprint = ?, fingerprint_parts = ?, cache_key = ?"
    " WHERE run_id = ? AND step_id = ?"
)
STEP_SOURCE = (
    "UPDATE run_steps SET fingerprint = ?, fingerprint_parts = ?, cache_key = ?, source_run = ?,"
    " source_attempt = ? WHERE run_id = ? AND step_id = ?"
)
INSERT_ATTEMPT = (
    "INSERT INTO step_attempts (run_id, step_id, attempt, status, started_at, pid, log_path,"
    " retry_reason, delay_ms) VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?)"
)
ATTEMPT_PLACED = (
    "UPDATE step_attempts SET placed_at = ?, host = ?, worker = ?, pid = coalesce(?, pid)"
    " WHERE run_id = ? AND step_id = ? AND attempt = ?"
)
STEP_RUNNING = (
    "UPDATE run_steps SET status = 'running', attempts = ?, started_at = coalesce(started_at, ?)"
    " WHERE run_id = ? AND step_id = ?"
)
FINISH_ATTEMPT = (
    "UPDATE step_attempts SET status = ?, error_code = ?, exit_code = ?, signal = ?,"
    " finished_at = ?, duration_ms = " + DURATION_SINCE.format(col="started_at") + ","
    " output_tail = ?, message = ?, cpu_user_ms = ?, cpu_sys_ms = ?, max_rss_kb = ?"
    " WHERE run_id = ? AND step_id = ? AND attempt = ?"
)
FINISH_STEP = (
    "UPDATE run_steps SET status = ?, finished_at = ?, duration_ms = "
    + DURATION_SINCE.format(col="started_at")
    + ", reason = ? WHERE run_id = ? AND step_id = ?"
)
STEP_STATUS = "UPDATE run_steps SET status = ?, reason = ? WHERE run_id = ? AND step_id = ?"
UPSERT_OUTPUT = (
    "INSERT OR REPLACE INTO outputs (run_id, step_id, attempt, name, value) VALUES (?, ?, ?, ?, ?)"
)
FINISH_RUN = (
    "UPDATE runs SET status = ?, finished_at = ?, duration_ms = "
    + DURATION_SINCE.format(col="coalesce(started_at, created_at)")
    + ", error = ?, exit_code = ? WHERE id = ?"
)
ANY_ACTIVE_RUN = f"SELECT EXISTS (SELECT 1 FROM runs WHERE status IN {ACTIVE_RUN})"
PENDING_CANCELS = (
    "SELECT id, run_id, step_id, requested_at, requested_by FROM cancel_requests"
    " WHERE run_id = ? AND handled_at IS NULL ORDER BY id"
)
CANCEL_HANDLED = "UPDATE cancel_requests SET handled_at = ? WHERE id = ?"
RELEASE_LEASE = "UPDATE leases SET released_at = ? WHERE id = ? AND released_at IS NULL"
RELEASE_RUN_LEASES = "UPDATE leases SET released_at = ? WHERE run_id = ? AND released_at IS NULL"
