"""`engine events RUN_ID [--follow]`: the event stream, as lines or JSON lines."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from engine.states import StepStatus
from tests.cli.cli_helpers import (
    FAILED,
    cli,
    engine,
    latest_run_id,
    start_engine,
    step_status,
    write_plan,
)
from tests.support import wait_for


def test_events_in_order(history: Path) -> None:
    result = cli(history, "events", FAILED)
    assert result.code == 0
    types = [line.split()[2] for line in result.out.splitlines()]
    assert types[:3] == ["run_created", "run_started", "step_ready"]
    assert types[-1] == "run_completed"
    assert types.count("step_retry") == 1


def test_events_json_lines_and_step_filter(history: Path) -> None:
    lines = cli(history, "events", FAILED, "--json", "--step", "test").out.splitlines()
    events = [json.loads(line) for line in lines]
    assert {e["step_id"] for e in events} == {"test"}
    assert [e["type"] for e in events] == [
        "step_ready", "step_started", "step_retry", "step_ready", "step_started", "step_failed",
    ]  # fmt: skip
    first = events[0]
    assert set(first) == {"id", "run_id", "step_id", "attempt", "type", "ts", "data"}
    assert first["ts"].endswith("Z")
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)


def test_follow_a_finished_run_returns_at_once(history: Path) -> None:
    result = cli(history, "events", FAILED, "--follow")
    assert result.code == 0 and "run_completed" in result.out


def test_follow_a_live_run_until_it_ends(ledger: Path, tmp_path: Path) -> None:
    plan = write_plan(
        tmp_path,
        "slow",
        [
            {"id": "one", "command": "sleep", "args": ["0.6"]},
            {"id": "two", "command": "sleep", "args": ["0.3"], "depends_on": ["one"]},
        ],
    )
    run = start_engine(ledger, "run", str(plan), "-q")
    run_id = wait_for(lambda: latest_run_id(ledger))
    follower = engine(ledger, "events", run_id[:8], "--follow", "--json", timeout=60)
    assert run.wait(timeout=60) == 0
    assert follower.code == 0, follower.err
    types = [json.loads(line)["type"] for line in follower.out.splitlines()]
    assert types[0] == "run_created" and types[-1] == "run_completed"
    assert types.count("step_succeeded") == 2


def test_follow_ends_when_the_engine_dies(ledger: Path, tmp_path: Path) -> None:
    plan = write_plan(tmp_path, "stuck", [{"id": "wait", "command": "sleep", "args": ["30"]}])
    run = start_engine(ledger, "run", str(plan), "-q")
    run_id = wait_for(lambda: latest_run_id(ledger))
    wait_for(lambda: step_status(ledger, run_id, "wait") is StepStatus.RUNNING)
    follower = start_engine(ledger, "events", run_id, "--follow")
    try:
        wait_for(lambda: follower.stdout is not None and follower.stdout.readline())
    finally:
        run.send_signal(signal.SIGKILL)
        run.wait()
    out, err = follower.communicate(timeout=60)
    assert follower.returncode == 0, err
    assert "run_crashed" in out and f"run {run_id} was marked crashed" in err
