"""Migrations, versioning, and refusing files that are not (our) ledgers."""

from __future__ import annotations

import os
import re
import sqlite3
import threading
from pathlib import Path

import pytest

from engine.errors import LedgerError
from engine.ledger import schema
from engine.ledger.connection import connect_readonly, connect_writable
from engine.states import AttemptStatus, ExitCode, RunStatus, StepStatus

TABLES = {
    "plans", "runs", "run_steps", "step_attempts", "events", "outputs", "cancel_requests", "leases",
    "extend_requests",
}  # fmt: skip
VIEWS = {"v_active_runs", "v_run_summary", "v_step_stats", "v_leases"}


def test_migrates_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    conn = connect_writable(path)
    names = {row[0]: row[1] for row in conn.execute("SELECT name, type FROM sqlite_schema")}
    assert {n for n, t in names.items() if t == "table"} >= TABLES
    assert {n for n, t in names.items() if t == "view"} == VIEWS
    assert schema.read_version(conn) == (schema.APPLICATION_ID, schema.SCHEMA_VERSION)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 10_000
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    conn.close()
    connect_writable(path).close()  # reopening is a no-op


def test_synchronous_full_is_one_setting_away(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGER_SYNCHRONOUS", "FULL")
    conn = connect_writable(tmp_path / "l.db")
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    conn.close()


def test_refuses_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    connect_writable(path).close()
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION + 1}")
    raw.close()
    message = (
        f"{path} was written by a newer version of engine (schema {schema.SCHEMA_VERSION + 1},"
        f" this engine knows {schema.SCHEMA_VERSION}); upgrade engine."
    )
    for opener in (connect_writable, connect_readonly):
        with pytest.raises(LedgerError) as caught:
            opener(path)
        assert caught.value.message == message
        assert caught.value.exit_code == ExitCode.LEDGER


@pytest.mark.parametrize("app_id, with_table", [(0x1234, False), (0, True)])
def test_refuses_a_foreign_sqlite_file(tmp_path: Path, app_id: int, with_table: bool) -> None:
    path = tmp_path / "other.db"
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA application_id = {app_id}")
    if with_table:
        raw.execute("CREATE TABLE notes (x)")
    raw.commit()
    raw.close()
    with pytest.raises(
        LedgerError, match=re.escape(f"{path} is an SQLite database but not a ledger")
    ):
        connect_writable(path)
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 0


def test_refuses_a_file_that_is_not_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello, this is not a database\n" * 100)
    for opener in (connect_writable, connect_readonly):
        with pytest.raises(LedgerError, match=re.escape(f"{path} is not an SQLite database")):
            opener(path)
    assert path.read_text().startswith("hello")


def test_refuses_a_directory_and_a_missing_file(tmp_path: Path) -> None:
    for opener in (connect_writable, connect_readonly):
        with pytest.raises(LedgerError, match="is a directory"):
            opener(tmp_path)
    with pytest.raises(LedgerError, match="There is no ledger at"):
        connect_readonly(tmp_path / "missing.db")


def test_readonly_connection_cannot_write(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    connect_writable(path).close()
    conn = connect_readonly(path)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        conn.execute(
            "INSERT INTO plans (hash, name, version, plan_json, created_at)"
            " VALUES ('h', 'n', NULL, '{}', 'now')"
        )


def test_check_constraints_match_the_shared_enums() -> None:
    ddl = schema.MIGRATIONS[0]
    for table, enum in (
        ("runs", RunStatus),
        ("run_steps", StepStatus),
        ("step_attempts", AttemptStatus),
    ):
        body = ddl.split(f"CREATE TABLE {table} (")[1].split(");")[0]
        listed = re.search(r"status IN\s*\(([^)]*)\)", body)
        assert listed is not None
        values = re.findall(r"'(\w+)'", listed.group(1))
        assert values == [member.value for member in enum], table


def test_migration_statements_split_cleanly() -> None:
    statements = schema.split_statements(schema.MIGRATIONS[0])
    assert all(sqlite3.complete_statement(s + ";") for s in statements)
    assert sum(s.startswith("CREATE VIEW") for s in statements) == 3


def test_a_ledger_read_while_it_is_created_is_never_called_foreign(tmp_path: Path) -> None:
    """A reader racing the ledger's creation sees it missing or uninitialised, never foreign."""
    seen: list[str] = []
    for i in range(60):
        path = tmp_path / f"l{i}.db"
        created = threading.Event()

        def create(path: Path = path, created: threading.Event = created) -> None:
            try:
                connect_writable(path).close()
            finally:
                created.set()

        creator = threading.Thread(target=create)
        creator.start()
        while True:
            done = created.is_set()
            try:
                connect_readonly(path).close()
            except LedgerError as error:
                seen.append(str(error))
                if done:
                    raise
                continue
            if done:
                break
        creator.join()
    # Before the file exists, and before the creating transaction commits: nothing else.
    unexpected = [s for s in seen if "There is no ledger" not in s and "not initialised" not in s]
    assert unexpected == []


def test_engines_opening_a_new_ledger_at_once_all_open_it(tmp_path: Path) -> None:
    """The first switch to WAL, raced by four writers: SQLite tells some of them SQLITE_BUSY at
    once, without waiting (it failed about 1 creation in 40)."""
    errors: list[str] = []
    for i in range(120):
        path = tmp_path / f"l{i}.db"
        start = threading.Barrier(4)

        def open_it(path: Path = path, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                connect_writable(path).close()
            except LedgerError as error:
                errors.append(str(error))

        writers = [threading.Thread(target=open_it) for _ in range(4)]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
    assert errors == []


def test_an_older_ledger_gains_the_attempt_resources_and_keeps_its_rows(tmp_path: Path) -> None:
    """Schema 3 adds step_attempts' CPU and memory columns; older attempts read NULL in them."""
    path = tmp_path / "l.db"
    old = sqlite3.connect(path, isolation_level=None)
    for statement in schema.split_statements(schema.MIGRATIONS[0]):
        old.execute(statement)
    old.execute(f"PRAGMA application_id = {schema.APPLICATION_ID}")
    old.execute("PRAGMA user_version = 1")
    at = "2026-12-01T10:00:00.000Z"
    old.execute("INSERT INTO plans VALUES ('h', 'p', NULL, '{}', ?)", (at,))
    old.execute(
        "INSERT INTO runs (id, plan_hash, plan_name, status, created_at, steps_total)"
        " VALUES ('r1', 'h', 'p', 'succeeded', ?, 1)",
        (at,),
    )
    old.execute(
        "INSERT INTO run_steps (run_id, step_id, position, status, attempts, duration_ms)"
        " VALUES ('r1', 'a', 0, 'succeeded', 1, 1000)"
    )
    old.execute(
        "INSERT INTO step_attempts (run_id, step_id, attempt, status, exit_code, started_at)"
        " VALUES ('r1', 'a', 1, 'succeeded', 0, ?)",
        (at,),
    )
    old.close()

    connect_writable(path).close()
    conn = connect_readonly(path)
    assert schema.read_version(conn) == (schema.APPLICATION_ID, schema.SCHEMA_VERSION)
    row = conn.execute(
        "SELECT exit_code, cpu_user_ms, cpu_sys_ms, max_rss_kb FROM step_attempts"
    ).fetchone()
    assert row == (0, None, None, None)
    stats = conn.execute(
        "SELECT runs, p50_ms, p95_max_rss_kb, p95_cpu_ms FROM v_step_stats WHERE step_id = 'a'"
    ).fetchone()
    assert stats == (1, 1000, None, None)


def test_v_step_stats_takes_the_nearest_rank_p95_of_every_measured_attempt(
    tmp_path: Path,
) -> None:
    conn = connect_writable(tmp_path / "l.db")
    at = "2026-12-01T10:00:00.000Z"
    conn.execute(
        "INSERT INTO plans (hash, name, plan_json, created_at) VALUES ('h', 'p', '{}', ?)", (at,)
    )
    # 20 runs of step `a`, attempt memory 1..20 MiB; the 20th run's step needed a retry at 40 MiB.
    for n in range(1, 21):
        conn.execute(
            "INSERT INTO runs (id, plan_hash, plan_name, status, created_at, steps_total)"
            " VALUES (?, 'h', 'p', 'succeeded', ?, 1)",
            (f"r{n}", at),
        )
        conn.execute(
            "INSERT INTO run_steps (run_id, step_id, position, status, attempts, duration_ms)"
            " VALUES (?, 'a', 0, 'succeeded', ?, 1000)",
            (f"r{n}", 2 if n == 20 else 1),
        )
        for attempt, kb in [(1, n * 1024)] + ([(2, 40 * 1024)] if n == 20 else []):
            conn.execute(
                "INSERT INTO step_attempts (run_id, step_id, attempt, status, started_at,"
                " cpu_user_ms, cpu_sys_ms, max_rss_kb) VALUES (?, 'a', ?, 'succeeded', ?, ?, 1, ?)",
                (f"r{n}", attempt, at, n * 10, kb),
            )
    rss, cpu = conn.execute(
        "SELECT p95_max_rss_kb, p95_cpu_ms FROM v_step_stats WHERE step_id = 'a'"
    ).fetchone()
    # 21 measured attempts: rank ceil(0.95 * 21) = 20 of the sorted values.
    assert rss == 20 * 1024
    assert cpu == 200 + 1
    conn.close()


def _older_ledger(path: Path) -> None:
    """A ledger as the engine before the last migration left it, with one run."""
    old = sqlite3.connect(path, isolation_level=None)
    for script in schema.MIGRATIONS[:-1]:
        for statement in schema.split_statements(script):
            old.execute(statement)
    old.execute(f"PRAGMA application_id = {schema.APPLICATION_ID}")
    old.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION - 1}")
    at = "2026-12-01T10:00:00.000Z"
    old.execute(
        "INSERT INTO plans (hash, name, plan_json, created_at) VALUES ('h', 'p', '{}', ?)", (at,)
    )
    old.execute(
        "INSERT INTO runs (id, plan_hash, plan_name, status, created_at, steps_total)"
        " VALUES ('r1', 'h', 'p', 'succeeded', ?, 0)",
        (at,),
    )
    old.close()


def test_reading_a_ledger_an_older_engine_wrote_migrates_it(tmp_path: Path) -> None:
    # `engine runs`, `show`, `explain` after an upgrade: they read, and the message they gave
    # ("run any engine command on it to migrate it") was true of `engine run` only.
    path = tmp_path / "l.db"
    _older_ledger(path)
    conn = connect_readonly(path)
    assert schema.read_version(conn) == (schema.APPLICATION_ID, schema.SCHEMA_VERSION)
    assert conn.execute("SELECT id FROM runs").fetchall() == [("r1",)]
    conn.close()


def test_an_older_ledger_this_user_cannot_write_is_refused_as_before(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root may write a read-only directory")
    path = tmp_path / "ro" / "l.db"
    path.parent.mkdir()
    _older_ledger(path)
    path.parent.chmod(0o555)
    try:
        with pytest.raises(LedgerError, match="older than this engine"):
            connect_readonly(path)
    finally:
        path.parent.chmod(0o755)
