"""A step's `cache`: taken from an earlier run's result when nothing in its key changed."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from engine.ledger.reader import LedgerReader
from engine.states import StepStatus
from tests.cli.cli_helpers import ENGINE, cli, engine, engine_env, latest_run_id

COMPILE = 'echo x >> compiled; echo "size=$(wc -c < src/a.c)" >> "$ENGINE_OUTPUT"'


def _plan(tmp_path: Path, cache: Any = None, **step: Any) -> Path:
    """compile (cached: src/*.c and $CC) -> link (not cached) writes what compile output."""
    cache = cache or {"inputs": ["src/*.c"], "env": ["CC"]}
    steps = [
        {"id": "compile", "command": "sh", "args": ["-c", COMPILE], "provides": ["size"],
         "cache": cache, **step},
        {"id": "link", "command": "sh", "depends_on": ["compile"],
         "args": ["-c", "echo ${steps.compile.outputs.size} >> linked"]},
    ]  # fmt: skip
    path = tmp_path / "build.json"
    path.write_text(json.dumps({"name": "build", "steps": steps}))
    (tmp_path / "src").mkdir(exist_ok=True)
    if not (tmp_path / "src" / "a.c").exists():
        (tmp_path / "src" / "a.c").write_text("int a;\n")
    return path


def _run(ledger: Path, tmp_path: Path, *args: str) -> str:
    result = engine(ledger, "run", str(tmp_path / "build.json"), "-q", *args, cwd=tmp_path)
    assert result.code == 0, result.err
    run_id = latest_run_id(ledger)
    assert run_id is not None
    return run_id


def _compile(ledger: Path, run_id: str) -> tuple[StepStatus, str | None]:
    with LedgerReader.open(ledger) as reader:
        step = next(s for s in reader.run_steps(run_id) if s.step_id == "compile")
        return step.status, step.reason


def _miss(ledger: Path, run_id: str) -> str:
    with LedgerReader.open(ledger) as reader:
        events = reader.events(run_id=run_id, step_id="compile", types=["step_cache_miss"])
    assert len(events) == 1, events
    return str((events[0].data or {})["reason"])


def test_a_hit_restores_outputs_without_running(ledger: Path, tmp_path: Path) -> None:
    _plan(tmp_path)
    first = _run(ledger, tmp_path)
    assert _miss(ledger, first) == "no earlier run of this step succeeded with cache on"
    second = _run(ledger, tmp_path)
    assert _compile(ledger, second) == (StepStatus.REUSED, f"cache hit: run {first} attempt 1")
    assert (tmp_path / "compiled").read_text() == "x\n"  # ran once
    assert (tmp_path / "linked").read_text() == "7\n7\n"  # link read the restored output
    with sqlite3.connect(ledger) as conn:
        source = conn.execute(
            "SELECT source_run, source_attempt, cache_key IS NOT NULL FROM run_steps"
            " WHERE run_id = ? AND step_id = 'compile'",
            (second,),
        ).fetchone()
        outputs = conn.execute(
            "SELECT name, value FROM outputs WHERE run_id = ? AND step_id = 'compile'", (second,)
        ).fetchall()
    assert source == (first, 1, 1)
    assert outputs == [("size", "7")]  # the run holds its outputs itself
    story = cli(ledger, "explain", second, "compile").out
    assert f"reused, not run: cache hit: run {first} attempt 1" in story

    # A resume of that run reuses the cached step with its outputs (--force: not from the cache).
    resumed = engine(ledger, "resume", second, "-q", "--step", "link", "--force", cwd=tmp_path)
    assert resumed.code == 0, resumed.err
    third = latest_run_id(ledger)
    assert third is not None
    assert _compile(ledger, third) == (StepStatus.REUSED, f"reused from run {second}")
    assert (tmp_path / "linked").read_text() == "7\n7\n7\n"


def test_changed_inputs_env_and_definition_miss_and_say_why(ledger: Path, tmp_path: Path) -> None:
    _plan(tmp_path)
    first = _run(ledger, tmp_path)
    (tmp_path / "src" / "a.c").write_text("int a, b;\n")
    second = _run(ledger, tmp_path)
    assert _compile(ledger, second)[0] is StepStatus.SUCCEEDED
    assert _miss(ledger, second) == f"input changed: src/a.c since run {first}"
    assert (
        f"not taken from the cache: input changed: src/a.c since run {first}"
        in cli(ledger, "explain", second, "compile").out
    )
    (tmp_path / "src" / "b.c").write_text("int c;\n")
    third = _run(ledger, tmp_path)
    assert _miss(ledger, third) == f"input changed: src/b.c since run {second}"

    changed_env = subprocess.run(
        [*ENGINE, "run", "build.json", "-q"], cwd=tmp_path, capture_output=True, text=True,
        env=engine_env(ledger) | {"CC": "cc-of-test-step-cache"}, timeout=60,
    )  # fmt: skip
    assert changed_env.returncode == 0, changed_env.stderr
    fourth = latest_run_id(ledger)
    assert fourth is not None
    assert _miss(ledger, fourth) == f"env changed: CC since run {third}"

    _plan(tmp_path, args=["-c", COMPILE + "; true"])
    fifth = _run(ledger, tmp_path)
    assert _miss(ledger, fifth).startswith("definition changed: args; env changed: CC")
    assert (tmp_path / "compiled").read_text() == "x\n" * 5


def test_force_reruns_every_or_one_cached_step(ledger: Path, tmp_path: Path) -> None:
    _plan(tmp_path)
    _run(ledger, tmp_path)
    forced = _run(ledger, tmp_path, "--force")
    assert _compile(ledger, forced)[0] is StepStatus.SUCCEEDED
    assert _miss(ledger, forced) == "--force: the cache is not read"
    by_name = _run(ledger, tmp_path, "--force", "compile")
    assert _compile(ledger, by_name)[0] is StepStatus.SUCCEEDED
    assert _compile(ledger, _run(ledger, tmp_path))[0] is StepStatus.REUSED
    unknown = engine(ledger, "run", "build.json", "--force", "ghost", cwd=tmp_path)
    assert unknown.code == 2
    assert unknown.err.strip() == "engine: --force: the plan has no step 'ghost'."


def test_force_before_the_plan_file_says_so(ledger: Path, tmp_path: Path) -> None:
    _plan(tmp_path)
    result = cli(ledger, "run", "--force", str(tmp_path / "build.json"))
    assert result.code == 2
    assert "--force took the plan file" in result.err and "Missing argument" not in result.err
    assert not ledger.exists()


def test_too_old_or_lost_results_are_not_taken(ledger: Path, tmp_path: Path) -> None:
    _plan(tmp_path, cache={"inputs": ["src/*.c"], "max_age": "1h"})
    first = _run(ledger, tmp_path)
    with sqlite3.connect(ledger) as conn:  # as if it had finished two hours ago
        conn.execute(
            "UPDATE run_steps SET finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-2 hours')"
            " WHERE run_id = ?",
            (first,),
        )
    second = _run(ledger, tmp_path)
    assert _miss(ledger, second) == (
        f"the cached result of run {first} is older than max_age (3600s)"
    )
    with sqlite3.connect(ledger) as conn:  # its outputs deleted
        conn.execute("DELETE FROM outputs WHERE run_id = ?", (second,))
    third = _run(ledger, tmp_path)
    assert _miss(ledger, third) == f"the cached result of run {second} lost its outputs: size"
    assert _compile(ledger, _run(ledger, tmp_path))[0] is StepStatus.REUSED


def test_a_failed_step_is_never_a_cached_result(ledger: Path, tmp_path: Path) -> None:
    _plan(tmp_path, args=["-c", "echo x >> compiled; exit 1"])
    result = engine(ledger, "run", "build.json", "-q", cwd=tmp_path)
    assert result.code == 1
    again = engine(ledger, "run", "build.json", "-q", cwd=tmp_path)
    assert again.code == 1
    run_id = latest_run_id(ledger)
    assert run_id is not None
    assert _compile(ledger, run_id)[0] is StepStatus.FAILED
    assert _miss(ledger, run_id) == "no earlier run of this step succeeded with cache on"
    assert (tmp_path / "compiled").read_text() == "x\nx\n"


def test_nonsense_cache_settings_are_plan_errors(ledger: Path, tmp_path: Path) -> None:
    for cache, said in [
        ({"inputs": ["../secrets/*"]}, '"../secrets/*" is outside the plan\'s directory'),
        ({"inputs": ["/etc/passwd"]}, '"/etc/passwd" is outside the plan\'s directory'),
        ({"inputs": ["."]}, '"." names no file'),
        ({"max_age": -5}, "-5 is less than or equal to the minimum of 0"),
        ({"max_age": "soon"}, '"soon" is not a duration'),
        ({"env": ["NOT-A-NAME"]}, "NOT-A-NAME"),
        ("yes", "'yes' is not of type 'boolean', 'object'"),
    ]:
        _plan(tmp_path, cache=cache)
        result = engine(ledger, "validate", str(tmp_path / "build.json"))
        assert result.code == 2, (cache, result.out, result.err)
        assert said in result.out + result.err, (cache, result.out, result.err)
        assert "Traceback" not in result.err


def test_a_cached_step_holds_its_pool_only_when_it_runs(ledger: Path, tmp_path: Path) -> None:
    path = _plan(tmp_path, pool="db")
    document = json.loads(path.read_text())
    path.write_text(json.dumps({**document, "pools": {"db": 1}}))
    first = _run(ledger, tmp_path)
    second = _run(ledger, tmp_path)
    assert _compile(ledger, second)[0] is StepStatus.REUSED
    with sqlite3.connect(ledger) as conn:
        leases = conn.execute(
            "SELECT run_id, step_id, acquired_at IS NOT NULL FROM leases WHERE kind = 'pool'"
        ).fetchall()
    assert leases == [(first, "compile", 1)]


@pytest.mark.parametrize("ledger_name", [".ledger/framework.db", "build.db"])
def test_inputs_never_match_the_ledgers_own_files(tmp_path: Path, ledger_name: str) -> None:
    # `**/*` covers the plan's directory, where the ledger, its logs, scratch and plan cache live
    # (`.ledger/`, or `build.db` with `build.logs/`... beside the plan): they change every run.
    ledger = tmp_path / ledger_name
    ledger.parent.mkdir(exist_ok=True)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.c").write_text("int a;\n")
    step = {"id": "compile", "command": "true", "cache": {"inputs": ["**/*"]}}
    (tmp_path / "build.json").write_text(json.dumps({"name": "build", "steps": [step]}))
    first = _run(ledger, tmp_path)
    assert _compile(ledger, first)[0] is StepStatus.SUCCEEDED
    second = _run(ledger, tmp_path)
    assert _compile(ledger, second) == (StepStatus.REUSED, f"cache hit: run {first} attempt 1")
    (tmp_path / "src" / "a.c").write_text("int b;\n")
    third = _run(ledger, tmp_path)
    assert _miss(ledger, third) == f"input changed: src/a.c since run {first}"
