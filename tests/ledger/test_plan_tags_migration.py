"""Schema 4 keeps each plan's tags beside it; a ledger written before gets them from plan_json."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from engine.ledger import ddl, schema
from engine.ledger.connection import connect_writable
from engine.ledger.reader import LedgerReader


def test_a_schema_3_ledger_gets_its_plans_tags(tmp_path: Path) -> None:
    path = tmp_path / "framework.db"
    raw = sqlite3.connect(path, isolation_level=None)
    version = schema.MIGRATIONS.index(ddl._V4_PLAN_TAGS)
    for script in schema.MIGRATIONS[:version]:
        for statement in schema.split_statements(script):
            raw.execute(statement)
    raw.execute(f"PRAGMA application_id = {schema.APPLICATION_ID}")
    raw.execute(f"PRAGMA user_version = {version}")
    plans = {
        "tagged": {"name": "a", "tags": ["nightly", "db"], "steps": []},
        "untagged": {"name": "b", "steps": []},
        "odd": {"name": "c", "tags": "not a list", "steps": []},
    }
    for hash_, plan in plans.items():
        raw.execute(
            "INSERT INTO plans (hash, name, plan_json, created_at) VALUES (?, ?, ?, ?)",
            (hash_, plan["name"], json.dumps(plan), "2026-12-01T00:00:00.000Z"),
        )
        raw.execute(
            "INSERT INTO runs (id, plan_hash, plan_name, status, created_at, steps_total)"
            " VALUES (?, ?, ?, 'succeeded', '2026-12-01T00:00:00.000Z', 0)",
            (f"run-{hash_}", hash_, plan["name"]),
        )
    raw.close()

    connect_writable(path).close()  # migrates

    conn = sqlite3.connect(path)
    tags = dict(conn.execute("SELECT hash, tags FROM plans").fetchall())
    assert tags == {"tagged": '["nightly","db"]', "untagged": None, "odd": None}
    with LedgerReader.open(path) as reader:
        assert [r.id for r in reader.list_runs(tag="db")] == ["run-tagged"]
        assert reader.list_runs(tag="nightly")[0].tags == ("nightly", "db")
        assert reader.list_runs(tag="not a list") == []


def test_a_new_run_stores_its_plans_tags(populated: Path) -> None:
    conn = sqlite3.connect(populated)
    tags = dict(conn.execute("SELECT name, tags FROM plans").fetchall())
    assert tags == {"nightly": '["nightly","db"]', "release": None}
    with LedgerReader.open(populated) as reader:
        assert [r.id for r in reader.list_runs(tag="db")] == ["n1ddddddddddd"]
        assert reader.list_runs(tag="db", plan="release") == []  # with the other filters
        assert reader.list_runs(tag="nightly", plan="nightly")[0].tags == ("nightly", "db")
