"""Marking crashed runs and deleting old runs."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from engine.ledger.maintenance import delete_runs_before, mark_run_crashed
from engine.ledger.reader import LedgerReader
from engine.states import AttemptStatus, RunStatus, StepStatus
from tests.ledger_factory import T0


def test_mark_run_crashed(populated: Path) -> None:
    assert mark_run_crashed(populated, "n1ddddddddddd", at=T0 + 310, error="owner 4242 is gone")
    assert not mark_run_crashed(populated, "n1ddddddddddd", at=T0 + 311, error="again")
    assert not mark_run_crashed(populated, "r1aaaaaaaaaaa", at=T0 + 311, error="finished")
    with LedgerReader.open(populated) as reader:
        run = reader.get_run("n1ddddddddddd")
        assert run is not None and run.status is RunStatus.CRASHED
        assert run.summary.duration_ms == 10_000
        assert {a.status for a in reader.attempts("n1ddddddddddd")} == {AttemptStatus.ABANDONED}
        statuses = {s.step_id: s.status for s in reader.run_steps("n1ddddddddddd")}
        assert statuses["vacuum"] is StepStatus.ABANDONED
        assert statuses["report"] is StepStatus.ABANDONED  # never started, and never will
        assert reader.events(run_id="n1ddddddddddd", limit=1)[0].type == "run_crashed"
        assert reader.active_runs() == []


def test_delete_runs_before_cascades(populated: Path) -> None:
    assert delete_runs_before(populated, before=T0 + 250) == [
        "r1aaaaaaaaaaa",
        "r2bbbbbbbbbbb",
        "r3ccccccccccc",
    ]
    conn = sqlite3.connect(populated)
    for table in ("run_steps", "step_attempts", "events", "outputs"):
        orphans = conn.execute(
            f"SELECT count(*) FROM {table} WHERE run_id NOT IN (SELECT id FROM runs)"
        ).fetchone()[0]
        assert orphans == 0, table
    assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 2
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    # The running nightly run is kept whatever its age.
    assert delete_runs_before(populated, before=T0 + 10_000) == ["r4eeeeeeeeeee"]
    assert conn.execute("SELECT hash FROM plans").fetchall() == [("hash-nightly",)]


def test_delete_runs_deletes_only_the_given_finished_runs(populated: Path) -> None:
    from engine.ledger.maintenance import delete_runs, gc_preview

    preview = gc_preview(populated, before=T0 + 250)
    assert preview.run_ids == ("r1aaaaaaaaaaa", "r2bbbbbbbbbbb", "r3ccccccccccc")
    assert preview.total_runs == 5 and preview.events > 0
    # The running run is never deleted, even when named; a run not named is kept.
    assert delete_runs(populated, ["n1ddddddddddd", "r2bbbbbbbbbbb", "r1aaaaaaaaaaa"]) == [
        "r1aaaaaaaaaaa",
        "r2bbbbbbbbbbb",
    ]
    conn = sqlite3.connect(populated)
    assert {row[0] for row in conn.execute("SELECT id FROM runs")} == {
        "n1ddddddddddd",
        "r3ccccccccccc",
        "r4eeeeeeeeeee",
    }
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
