"""A closed stdout or stderr (`engine run plan | head -1`) stops the printing, never the run."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ENGINE, Engine
from tests.support import wait_for


def start(
    engine: Engine, *args: str | Path, env_extra: dict[str, str] | None = None, **popen: Any
) -> subprocess.Popen[str]:
    """`engine ARGS` with the standard streams as the test says (Engine.start pipes both)."""
    env = engine.env(env_extra)
    proc = subprocess.Popen(
        [ENGINE, *map(str, args)], cwd=engine.tmp_path, env=env, text=True, **popen
    )
    engine._procs.append(proc)  # killed at teardown if the test fails half-way
    return proc


def gated_plan(engine: Engine, gate: Path, *, fail: bool = False) -> Path:
    """A step that waits for `gate`, then one that succeeds (or fails): events after the gate."""
    return engine.plan(
        [
            {"id": "first", "command": "echo", "args": ["hello"]},
            {
                "id": "wait",
                "command": f"while [ ! -e '{gate}' ]; do sleep 0.02; done",
                "shell": True,
                "depends_on": ["first"],
            },
            {"id": "last", "command": "false" if fail else "true", "depends_on": ["wait"]},
        ]
    )


def run_with_reader_gone(
    engine: Engine, *args: str, lines: int = 1, merge_stderr: bool = False, fail: bool = False
) -> tuple[int, str]:
    """`engine run PLAN ARGS | head -LINES`: read, close the pipe, let the run go on.

    Returns the exit code and what the engine wrote on stderr (if not merged into the pipe).
    """
    gate = engine.tmp_path / "gate"
    plan = gated_plan(engine, gate, fail=fail)
    stderr_to = subprocess.STDOUT if merge_stderr else subprocess.PIPE
    proc = start(engine, "run", plan, *args, stdout=subprocess.PIPE, stderr=stderr_to)
    assert proc.stdout is not None
    for _ in range(lines):
        assert proc.stdout.readline()  # as `head -1` reads it
    proc.stdout.close()  # ... and goes away; every later write meets a closed pipe
    wait_for(lambda: engine.runs() and engine.statuses().get("wait") == "running", timeout=30)
    gate.touch()
    proc.wait(timeout=30)
    stderr = "" if merge_stderr else (proc.stderr.read() if proc.stderr else "")
    return proc.returncode, stderr


@pytest.mark.parametrize(
    ("args", "lines"),
    [((), 1), (("--json",), 1), (("--quiet",), 0)],
    ids=["plain", "json", "quiet"],
)
def test_a_closed_stdout_does_not_end_the_run(
    engine: Engine, args: tuple[str, ...], lines: int
) -> None:
    code, stderr = run_with_reader_gone(engine, *args, lines=lines)
    assert (code, stderr) == (0, "")
    run = engine.last_run()
    assert (str(run.status), run.exit_code) == ("succeeded", 0)
    assert engine.statuses() == {"first": "succeeded", "wait": "succeeded", "last": "succeeded"}


def test_a_closed_stdout_keeps_the_runs_own_exit_code(engine: Engine) -> None:
    code, stderr = run_with_reader_gone(engine, fail=True)
    assert (code, stderr) == (1, "")
    run = engine.last_run()
    assert (str(run.status), run.exit_code) == ("failed", 1)


def test_closed_stdout_and_stderr_together(engine: Engine) -> None:
    """`engine run plan 2>&1 | head -1`."""
    code, _ = run_with_reader_gone(engine, merge_stderr=True)
    assert code == 0
    assert str(engine.last_run().status) == "succeeded"


def test_a_stdout_closed_from_the_start(engine: Engine) -> None:
    """`engine run plan >&-`: no descriptor 1 at all."""
    plan = engine.plan([{"id": "one", "command": "echo", "args": ["hello"]}])
    proc = start(engine, "run", plan, stderr=subprocess.PIPE, preexec_fn=lambda: os.close(1))
    _, stderr = proc.communicate(timeout=30)
    assert (proc.returncode, stderr) == (0, "")
    assert str(engine.last_run().status) == "succeeded"


def test_a_closed_stderr_changes_nothing(engine: Engine) -> None:
    """A warning written to a stderr nobody reads (`2>&1 >log | true`) is lost, nothing more."""
    plan = engine.plan(
        [{"id": "one", "command": "echo", "args": ["hello"]}], secrets=["PIN"]
    )  # a number as a secret draws a warning on stderr before the run starts
    proc = start(
        engine,
        "run",
        plan,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env_extra={"PIN": "20261204"},
    )
    assert proc.stderr is not None
    proc.stderr.close()
    stdout, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "succeeded" in stdout
    assert str(engine.last_run().status) == "succeeded"


def with_reader_gone(engine: Engine, program: str, *args: str | Path) -> tuple[int, str]:
    """`PROGRAM ARGS | head -0`: stdout is a pipe whose reader is gone before the first write."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [str(Path(ENGINE).with_name(program)), *map(str, args)], cwd=engine.tmp_path,
            env=engine.env(), stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60,
        )  # fmt: skip
    finally:
        os.close(write_end)
    return done.returncode, done.stderr


def test_query_commands_stop_quietly_when_their_reader_goes(engine: Engine) -> None:
    """`engine runs | head -1` and the like end with 0 and say nothing, as `engine run` does."""
    plan = engine.plan([{"id": "one", "command": "echo", "args": ["hello"]}])
    assert engine.run("run", plan).returncode == 0
    run_id = engine.last_run().id
    commands: list[tuple[str, ...]] = [
        ("engine", "run", str(plan)),
        ("engine", "runs"), ("engine", "runs", "--json"), ("engine", "show", run_id),
        ("engine", "events", run_id), ("engine", "logs", run_id, "one"), ("engine", "stats"),
        ("ledger-tui", "status"), ("ledger-tui", "status", "--json"),
    ]  # fmt: skip
    ended = {command: with_reader_gone(engine, *command) for command in commands}
    assert ended == dict.fromkeys(commands, (0, ""))


def with_full_stdout(engine: Engine, program: str, *args: str | Path) -> tuple[int, str]:
    """`PROGRAM ARGS > /dev/full`: every write to stdout fails with ENOSPC, as on a full disk."""
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [str(Path(ENGINE).with_name(program)), *map(str, args)], cwd=engine.tmp_path,
            env=engine.env(), stdout=full, stderr=subprocess.PIPE, text=True, timeout=60,
        )  # fmt: skip
    return done.returncode, done.stderr


def test_output_lost_to_a_full_disk_is_an_error_in_one_sentence(engine: Engine) -> None:
    """Not a traceback, nor a silent 0 with the output missing; `engine run` still runs."""
    plan = engine.plan([{"id": "one", "command": "echo", "args": ["hello"]}])
    assert with_full_stdout(engine, "engine", "run", plan) == (0, "")
    run_id = engine.last_run().id
    assert str(engine.last_run().status) == "succeeded"
    commands: list[tuple[str, ...]] = [
        ("engine", "runs"), ("engine", "runs", "--json"), ("engine", "show", run_id),
        ("engine", "events", run_id), ("engine", "logs", run_id, "one"), ("engine", "stats"),
        ("ledger-tui", "status"), ("ledger-tui", "status", "--json"),
    ]  # fmt: skip
    ended = {command: with_full_stdout(engine, *command) for command in commands}
    assert ended == {
        command: (1, f"{command[0]}: cannot write the output: No space left on device.\n")
        for command in commands
    }
