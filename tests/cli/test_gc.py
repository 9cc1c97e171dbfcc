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

from engine.ledger.reader import LedgerReader
from engine.states import RunStatus
from tests.cli.cli_helpers import (
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
    gate = tmp_path / "gate"
    steps = [{"id": f"s{i}", "command": "sleep", "args": ["0.2"]} for i in range(5)]
    # The last step holds the run open until gc has finished (bounded: 30 s).
    wait = f"for i in $(seq 600); do [ -e {gate} ] && exit 0; sleep 0.05; done; exit 1"
    steps.append({"id": "s5", "command": "sh", "args": ["-c", wait]})
    for i in range(1, 6):
        steps[i]["depends_on"] = [f"s{i - 1}"]
    plan = write_plan(tmp_path, "chain", steps)
    run = start_engine(history, "run", str(plan), "-q")
    try:
        wait_for(lambda: cli(history, "runs", "--plan", "chain", "--json").json())
        gc = engine(history, "gc", "--older-than", "0s")
    finally:
        gate.touch()
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


def test_an_age_without_a_unit_is_refused_and_nothing_goes(history: Path) -> None:
    result = cli(history, "gc", "--older-than", "30")
    assert result.code == 2
    assert result.err == "engine: '30' has no unit; write e.g. 30s, 30m, 30h or 30d.\n"
    assert len(cli(history, "runs", "--json").json()) == 5
    assert cli(history, "runs", "--since", "24").code == 2  # the same rule for every duration


def test_dry_run_says_what_would_go_and_deletes_nothing(history: Path) -> None:
    old_logs = _log_dir(history, OLD_SUCCEEDED)
    events = (
        sqlite3.connect(history)
        .execute(
            "SELECT count(*) FROM events WHERE run_id IN (?, ?)", (OLD_SUCCEEDED, OLD_CANCELED)
        )
        .fetchone()[0]
    )
    assert events > 0
    result = cli(history, "gc", "--older-than", "30d", "--dry-run")
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        OLD_SUCCEEDED,
        OLD_CANCELED,
        f"would delete 2 of 5 runs older than 30d, {events} events and 6 B of logs",
    ]
    document = cli(history, "gc", "--older-than", "30d", "--dry-run", "--json").json()
    assert document == {
        "dry_run": True, "runs": 2, "total_runs": 5, "events": events, "log_bytes": 6,
        "run_ids": [OLD_SUCCEEDED, OLD_CANCELED],
    }  # fmt: skip
    assert old_logs.exists()
    assert len(cli(history, "runs", "--json").json()) == 5


def _gc_on_a_terminal(ledger: Path, *args: str, answer: bytes) -> tuple[int, str]:
    """Run `engine gc ARGS` with a pseudo-terminal as stdin, answer its question, return output."""
    import os
    import pty
    import subprocess

    from tests.cli.cli_helpers import ENGINE, engine_env

    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [*ENGINE, "gc", *args], stdin=follower, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env=engine_env(ledger),
    )  # fmt: skip
    os.close(follower)
    os.write(leader, answer)
    out, err = proc.communicate(timeout=60)
    os.close(leader)
    return proc.returncode, err.decode() + out.decode()


def test_deleting_most_runs_asks_on_a_terminal(history: Path) -> None:
    code, output = _gc_on_a_terminal(history, "--older-than", "0s", answer=b"n\n")
    assert code == 1
    assert "Delete 4 of the ledger's 5 runs (older than 0s)? [y/N]" in output
    assert "nothing was deleted" in output
    assert len(cli(history, "runs", "--json").json()) == 5
    code, output = _gc_on_a_terminal(history, "--older-than", "0s", answer=b"y\n")
    assert code == 0 and "deleted 4 runs" in output


def test_yes_skips_the_question_and_half_or_less_is_never_asked(history: Path) -> None:
    code, output = _gc_on_a_terminal(history, "--older-than", "30d", answer=b"")
    assert code == 0 and "deleted 2 runs" in output and "?" not in output
    code, output = _gc_on_a_terminal(history, "--older-than", "0s", "--yes", answer=b"")
    assert code == 0 and "deleted 2 runs" in output and "?" not in output


def test_two_ledgers_in_one_directory_keep_their_own_logs(tmp_path: Path) -> None:
    plan = write_plan(tmp_path, "hello", [{"id": "hi", "command": "echo", "args": ["hi"]}])
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    for ledger in (a, b):
        assert engine(ledger, "run", str(plan), "-q", cwd=tmp_path).code == 0
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".logs") == [
        "a.logs",
        "b.logs",
    ]
    (b_run,) = [p.name for p in (tmp_path / "b.logs").iterdir()]
    gc = engine(a, "gc", "--older-than", "0s", cwd=tmp_path)
    assert gc.code == 0 and gc.out.startswith("deleted 1 run older") and "and 1 log dir\n" in gc.out
    assert not any((tmp_path / "a.logs").iterdir())
    assert (tmp_path / "b.logs" / b_run / "hi.1.log").read_text() == "hi\n"
    assert engine(b, "logs", b_run, "hi", cwd=tmp_path).out == "hi\n"


def test_gc_removes_logs_that_runs_wrote_to_the_shared_logs_dir(history: Path) -> None:
    # Before each ledger had its own logs, every file beside it wrote to `logs/`.
    other = history.parent / "other.db"
    history.rename(other)
    shared = _log_dir(other, OLD_SUCCEEDED)
    someone_elses = _log_dir(other, "0else00000000")
    assert cli(other, "gc", "--older-than", "30d").code == 0
    assert not shared.exists() and someone_elses.exists()


def test_gc_on_one_ledger_keeps_the_scratch_of_anothers_live_run(tmp_path: Path) -> None:
    import os

    from engine.ledger.scratch import create_run_scratch

    plan = write_plan(tmp_path, "hello", [{"id": "hi", "command": "true"}])
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    assert engine(a, "run", str(plan), "-q", cwd=tmp_path).code == 0
    # A long run of b.db: its scratch (outputs, raw secrets) was made over a minute ago.
    scratch = create_run_scratch(b, "1bbbbbbbbbbbb")
    os.utime(scratch, (time.time() - 3600, time.time() - 3600))
    assert scratch.parent == tmp_path / "b.scratch"
    assert engine(a, "gc", "--older-than", "0s", cwd=tmp_path).code == 0
    assert scratch.is_dir()


def test_gc_deletes_what_it_asked_about_not_a_run_that_ended_meanwhile(history: Path) -> None:
    import os
    import pty
    import subprocess

    from engine.ledger.maintenance import mark_run_crashed
    from tests.cli.cli_helpers import ENGINE, engine_env

    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [*ENGINE, "gc", "--older-than", "0s"], stdin=follower, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env=engine_env(history),
    )  # fmt: skip
    os.close(follower)
    assert proc.stderr is not None
    asked = b""
    while b"[y/N]" not in asked:
        chunk = os.read(proc.stderr.fileno(), 1024)
        assert chunk, asked
        asked += chunk
    assert b"Delete 4 of the ledger's 5 runs" in asked
    # The live run ends while the question waits: it was not part of what was asked.
    assert mark_run_crashed(history, LIVE, at=time.time(), error="ended meanwhile")
    os.write(leader, b"y\n")
    out, _ = proc.communicate(timeout=60)
    os.close(leader)
    assert proc.returncode == 0 and out.decode().startswith("deleted 4 runs")
    assert [run["id"] for run in cli(history, "runs", "--json").json()] == [LIVE]
