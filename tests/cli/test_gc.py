"""`engine gc --older-than AGE`: old finished runs go, with their rows and log dirs."""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import (
    FAILED,
    LIVE,
    OLD_CANCELED,
    OLD_SUCCEEDED,
    SUCCEEDED,
    cli,
    engine,
    start_engine,
    write_plan,
)

from engine.ledger.reader import LedgerReader
from engine.states import RunStatus
from tests.support import wait_for


def _log_dir(ledger: Path, run_id: str) -> Path:
    directory = ledger.parent / "logs" / run_id
    directory.mkdir(parents=True)
    (directory / "step.1.log").write_text("hello\n")
    return directory


def test_gc_deletes_old_runs_rows_and_logs(history: Path) -> None:
    old_logs = _log_dir(history, OLD_SUCCEEDED)
    kept_logs = _log_dir(history, SUCCEEDED)
    result = cli(history, "gc", "--older-than", "30d", "--json")
    assert result.code == 0, result.err
    document = result.json()
    assert document == {
        "deleted_runs": 2,
        "removed_log_dirs": 1,
        "removed_scratch_dirs": 0,
        "run_ids": [OLD_SUCCEEDED, OLD_CANCELED],
    }
    assert not old_logs.exists() and kept_logs.exists()
    conn = sqlite3.connect(history)
    for table in ("runs", "run_steps", "step_attempts", "events", "outputs"):
        stale = conn.execute(
            f"SELECT count(*) FROM {table} WHERE {'id' if table == 'runs' else 'run_id'} IN (?, ?)",
            (OLD_SUCCEEDED, OLD_CANCELED),
        ).fetchone()[0]
        assert stale == 0, table
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert cli(history, "gc", "--older-than", "30d").out.startswith("deleted 0 runs")


def test_gc_never_deletes_a_running_run(history: Path) -> None:
    result = cli(history, "gc", "--older-than", "0s")
    assert result.code == 0 and result.out.startswith("deleted 4 runs")
    with LedgerReader.open(history) as reader:
        assert [r.id for r in reader.list_runs()] == [LIVE]
    assert FAILED not in cli(history, "runs").out


def test_gc_removes_log_dirs_left_by_an_interrupted_gc(history: Path) -> None:
    orphan = _log_dir(history, "0gone00000000")
    result = cli(history, "gc", "--older-than", "1w")
    assert result.code == 0
    # Just created, so not older than a week: an orphan is kept until it is old too.
    assert orphan.exists()
    assert cli(history, "gc", "--older-than", "0s").code == 0
    assert not orphan.exists()


def _scratch_dir(ledger: Path, run_id: str, age_sec: float = 0.0) -> Path:
    directory = ledger.parent / "scratch" / run_id
    directory.mkdir(parents=True)
    (directory / "step.1").write_text("TOKEN=raw secret\n")
    if age_sec:
        then = time.time() - age_sec
        os.utime(directory, (then, then))
    return directory


def test_gc_removes_the_scratch_of_every_run_that_is_over(history: Path) -> None:
    live = _scratch_dir(history, LIVE)
    finished = _scratch_dir(history, FAILED)  # finished a day ago, kept by --older-than 30d
    unknown_old = _scratch_dir(history, "0gone00000000", age_sec=3600)
    unknown_young = _scratch_dir(history, "2new000000000")  # its run row may not be committed yet
    result = cli(history, "gc", "--older-than", "30d", "--json")
    assert result.code == 0, result.err
    assert result.json()["removed_scratch_dirs"] == 2
    assert not finished.exists() and not unknown_old.exists()
    assert live.exists() and unknown_young.exists()
    again = cli(history, "gc", "--older-than", "30d", "--json")
    assert again.json()["removed_scratch_dirs"] == 0


def test_gc_removes_outputs_dirs_earlier_versions_left_in_the_temp_dir(
    history: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    other = "9other0000000"  # another ledger's run
    legacy = {run_id: temp / f"engine-{run_id}-x1y2z3" for run_id in (FAILED, LIVE, other)}
    for directory in legacy.values():
        directory.mkdir()
        (directory / "step.1").write_text("TOKEN=raw secret\n")
    unrelated = temp / "engine-notes.txt"
    unrelated.write_text("not ours")
    result = cli(history, "gc", "--older-than", "30d", "--json")
    assert result.code == 0, result.err
    assert result.json()["removed_scratch_dirs"] == 1
    # Only a run this ledger knows is over: a live run's, or another ledger's, are left alone.
    assert not legacy[FAILED].exists()
    assert legacy[LIVE].exists() and legacy[other].exists() and unrelated.exists()


def test_gc_needs_a_valid_age(history: Path) -> None:
    assert cli(history, "gc").code == 2
    assert cli(history, "gc", "--older-than", "a month").code == 2


def test_gc_while_an_engine_runs(history: Path, tmp_path: Path) -> None:
    steps = [{"id": f"s{i}", "command": "sleep", "args": ["0.2"]} for i in range(6)]
    for i in range(1, 6):
        steps[i]["depends_on"] = [f"s{i - 1}"]
    plan = write_plan(tmp_path, "chain", steps)
    run = start_engine(history, "run", str(plan), "-q")
    wait_for(lambda: cli(history, "runs", "--plan", "chain", "--json").json())
    gc = engine(history, "gc", "--older-than", "0s")
    assert gc.code == 0, gc.err
    assert run.wait(timeout=30) == 0, run.stderr.read() if run.stderr else ""
    with LedgerReader.open(history) as reader:
        chain = reader.list_runs(plan="chain")[0]
        assert chain.status is RunStatus.SUCCEEDED and chain.steps_done == 6
        assert {r.id for r in reader.list_runs()} == {LIVE, chain.id}


def test_gc_slices_oldest_first_through_an_index(history: Path) -> None:
    with LedgerReader.open(history) as reader:
        oldest = reader.finished_runs_before(time.time(), limit=2)
        assert [r.id for r in oldest] == [OLD_SUCCEEDED, OLD_CANCELED]
        captured: list[tuple[str, Sequence[Any]]] = []
        original = reader._query

        def recording(sql: str, params: Sequence[Any] = ()) -> list[Any]:
            captured.append((sql, params))
            return original(sql, params)

        reader._query = recording  # type: ignore[method-assign]
        reader.finished_runs_before(time.time(), limit=2)
        reader._query = original  # type: ignore[method-assign]
        plan = [row[3] for row in original("EXPLAIN QUERY PLAN " + captured[0][0], captured[0][1])]
    assert "SEARCH r USING INDEX runs_created (created_at<?)" in plan
    assert not [step for step in plan if step.startswith("SCAN r")]
