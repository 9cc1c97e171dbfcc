"""docs/ledger.md's event table is what the engine writes: every type, and every key of `data`.

A few real runs (retries, a timeout, a fallback, a skip, a step and a run canceled from inside the
run, hooks, a resume, a cached step) must between them write every documented event type with every
documented key, and no key the table does not list.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import defaultdict
from pathlib import Path

from engine.states import EventType
from tests.e2e.conftest import ENGINE, Engine

DOC = Path(__file__).resolve().parents[2] / "docs" / "ledger.md"
# Written only when a run's engine died, by the next ledger client; tests/ledger/test_recovery.py
# and the chaos suite produce it. A full disk under the logs: tests/e2e/test_disk_full.py. Waiting
# for a group or pool takes a second engine: tests/e2e/test_leases.py checks those events' data;
# `engine extend` from another process, tests/e2e/test_extend.py. A Dask cluster's placement:
# tests/dask/test_placed.py.
NOT_PRODUCED_HERE = {
    "run_crashed", "step_log_truncated", "run_waiting", "step_waiting", "timeout_extended",
    "step_placed",
}  # fmt: skip


def documented_events() -> list[tuple[set[str], set[str]]]:
    """(event types, data keys) of each row of the "Event types" table."""
    section = DOC.read_text(encoding="utf-8").split("## Event types")[1].split("\n## ")[0]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        types = set(re.findall(r"`(\w+)`", cells[0]))
        # Keys are the backticked names outside parentheses, which hold remarks.
        spans = re.findall(r"`([^`]+)`", re.sub(r"\([^)]*\)", "", cells[2]))
        keys = {key.strip() for span in spans for key in span.split(",")} - {"NULL"}
        rows.append((types, keys))
    return rows


def sh(script: str, **fields: object) -> dict[str, object]:
    return {"command": "sh", "args": ["-c", script], **fields}


def written_events(engine: Engine) -> dict[str, set[str]]:
    """Every event type in the test's ledger, with the union of its data keys."""
    keys: dict[str, set[str]] = defaultdict(set)
    with sqlite3.connect(engine.ledger_path) as conn:
        for kind, data in conn.execute("SELECT type, data FROM events"):
            keys[kind] |= set(json.loads(data)) if data else set()
    return keys


def test_every_documented_event_is_written_with_the_documented_data(engine: Engine) -> None:
    marker, victim = engine.tmp_path / "flaky-once", engine.tmp_path / "victim-ran"
    cancel = {"ENGINE_BIN": ENGINE, "LEDGER_DB": str(engine.ledger_path)}
    first = engine.run_plan(
        [
            {"id": "ok", "command": "true"},
            {
                "id": "flaky",
                **sh(f"test -f {marker} || {{ touch {marker}; exit 1; }}"),
                "retry": {"max_attempts": 2, "delay_sec": 0.05},
            },
            {
                "id": "slow",
                "command": "sleep",
                "args": ["30"],
                "timeout_sec": 0.3,
                "on_failure": "continue",
            },
            {"id": "primary", "command": "false", "fallback": "standby"},
            {"id": "standby", "command": "true"},
            {"id": "skipped", "command": "true", "condition": "vars.X == 'y'"},
            {"id": "cached", "command": "true", "cache": True},
            {
                "id": "victim",
                # Waits to be canceled the first time; the resumed run finds it done at once.
                **sh(f"test -f {victim} && exit 0; touch {victim}; exec sleep 30"),
                "on_failure": "continue",
            },
            {
                "id": "canceler",
                **sh('"$ENGINE_BIN" cancel "$ENGINE_RUN_ID" --step victim'),
                "depends_on": ["ok"],
                "env": cancel,
            },
        ],
        vars={"X": "n"},
        globals={"max_concurrency": 8},
        on_failure=[{"id": "restore", "command": "true"}],
        on_exit=[{"id": "bye", "command": "true"}],
    )
    assert first.returncode == 1, first.stdout + first.stderr
    assert engine.last_run().status == "partial"
    resumed = engine.run("resume", engine.last_run().id)
    assert resumed.returncode == 1, resumed.stdout + resumed.stderr
    whole = engine.run_plan(
        [
            {"id": "sleeper", "command": "sleep", "args": ["30"]},
            {"id": "canceler", **sh('"$ENGINE_BIN" cancel "$ENGINE_RUN_ID"'), "env": cancel},
        ],
    )
    assert engine.last_run().status == "canceled", whole.stdout + whole.stderr

    written = written_events(engine)
    rows = documented_events()
    documented_types = set().union(*(types for types, _ in rows))
    assert documented_types == {str(kind) for kind in EventType}, (
        "docs/ledger.md's event table and engine.states.EventType differ: "
        f"{sorted(documented_types ^ {str(kind) for kind in EventType})}"
    )
    missing = sorted(documented_types - NOT_PRODUCED_HERE - set(written))
    assert not missing, f"documented in docs/ledger.md, never written: {missing}"
    for types, keys in rows:
        if types <= NOT_PRODUCED_HERE:
            continue
        seen = set().union(*(written.get(kind, set()) for kind in types))
        assert keys <= seen, f"{sorted(types)}: documented keys never written: {keys - seen}"
        assert seen <= keys, f"{sorted(types)}: keys written but not documented: {seen - keys}"
