"""`engine extend`: a live run's or running step's timeout moves later; a fired one stays fired."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from engine.ledger.extend import read_request, request_extend
from engine.ledger.times import from_iso
from tests.e2e.conftest import Engine
from tests.support import wait_for


def gate(path: Path, **fields: Any) -> dict[str, Any]:
    """A step that runs until `path` exists: the test decides when it ends."""
    script = f'while [ ! -e "{path}" ]; do sleep 0.02; done'
    return {"command": "sh", "args": ["-c", script], **fields}


def running(engine: Engine, step: str) -> str:
    """The run id, once `step` has started."""

    def started() -> str | None:
        runs = engine.runs()
        if runs and engine.statuses(runs[0].id).get(step) == "running":
            return runs[0].id
        return None

    return wait_for(started, timeout=30)


def test_extending_a_run_and_a_step_lets_them_outlive_their_first_deadline(
    engine: Engine,
) -> None:
    go = engine.tmp_path / "go"
    plan = engine.plan([{"id": "deploy", **gate(go, timeout_sec=10)}], globals={"timeout_sec": 10})
    proc = engine.start("run", plan)
    run_id = running(engine, "deploy")
    step = engine.run("extend", run_id, "--step", "deploy", "--by", "10m", "--wait", "30")
    assert step.returncode == 0, step.stderr
    assert "engine: the timeout of step deploy now ends at" in step.stderr
    whole = engine.run("extend", run_id, "--by", "10m", "--wait", "30")
    assert whole.returncode == 0, whole.stderr
    with engine.reader() as reader:
        events = reader.events(run_id=run_id, types=["timeout_extended"])
    assert [event.step_id for event in events] == ["deploy", None]
    for event in events:
        assert event.data is not None
        assert set(event.data) == {"request_id", "requested_by", "previous_deadline", "deadline"}
        moved = from_iso(event.data["deadline"]) - from_iso(event.data["previous_deadline"])
        assert abs(moved - 600) < 0.01
    # Past both first deadlines, nothing was stopped: the step ends when the test says.
    latest = max(from_iso(event.data["previous_deadline"]) for event in events if event.data)
    wait_for(lambda: time.time() > latest + 1, timeout=30)
    assert engine.statuses(run_id) == {"deploy": "running"}
    go.touch()
    assert proc.wait(timeout=60) == 0
    assert engine.last_run().status == "succeeded"


def test_a_step_past_its_deadline_cannot_be_revived(engine: Engine) -> None:
    go = engine.tmp_path / "go"
    plan = engine.plan(
        [
            {"id": "short", "command": "sleep", "args": ["30"], "timeout_sec": 0.3,
             "on_failure": "continue"},
            {"id": "keep", **gate(go)},
        ],
        globals={"kill_grace_sec": 0.2},
    )  # fmt: skip
    proc = engine.start("run", plan)
    run_id = running(engine, "keep")
    wait_for(lambda: engine.statuses(run_id)["short"] == "failed", timeout=30)
    revived = engine.run("extend", run_id, "--step", "short", "--by", "1h", "--wait", "30")
    assert revived.returncode == 1
    assert revived.stderr == (
        "engine: The timeout of step short was not extended: it is not running.\n"
    )
    no_timeout = engine.run("extend", run_id, "--step", "keep", "--by", "1h", "--wait", "30")
    assert no_timeout.returncode == 1
    assert "it has no timeout" in no_timeout.stderr
    run = engine.run("extend", run_id, "--by", "1h", "--wait", "30")
    assert run.returncode == 1
    assert "it has no timeout (globals.timeout_sec or --deadline)" in run.stderr
    go.touch()
    assert proc.wait(timeout=60) == 1  # partial: "short" failed under on_failure continue
    assert [a.error_code for a in engine.attempts("short")] == ["timeout"]


def test_what_cannot_be_asked_is_refused_before_anything_is_written(engine: Engine) -> None:
    done = engine.run_plan([{"id": "a", "command": "true"}])
    assert done.returncode == 0
    run_id = engine.last_run().id
    cases = {
        ("--by", "10m"): (1, f"engine: Run {run_id} already finished (succeeded).\n"),
        ("--step", "nope", "--by", "10m"): (1, f"engine: Run {run_id} already finished"),
        (): (2, "engine: Give one of --by DURATION or --to TIME.\n"),
        ("--by", "1m", "--to", "2099-01-01T00:00Z"): (2, "Give one of"),
        ("--by", "10"): (2, "'10' has no unit"),
        ("--to", "2000-01-01T00:00Z"): (2, "that time is already past"),
        ("--to", "soon"): (2, "expected an ISO-8601 time"),
        ("--to", "0001-01-01T00:00"): (2, "expected an ISO-8601 time"),
        ("--by", "100000000w"): (2, "at most 366 days from now"),
        ("--to", "9999-12-31T23:59Z"): (2, "at most 366 days from now"),
    }
    for args, (code, message) in cases.items():
        result = engine.run("extend", run_id, *args)
        assert (result.returncode, message in result.stderr) == (code, True), (args, result)
    with engine.reader() as reader:
        assert not reader.events(run_id=run_id, types=["timeout_extended"])


def test_the_engine_refuses_a_deadline_further_than_a_year(engine: Engine) -> None:
    # A request written by another client than `engine extend` (the dashboard) is checked too:
    # a deadline past year 9999 could not be written as an ISO-8601 time.
    go = engine.tmp_path / "go"
    proc = engine.start("run", engine.plan([{"id": "deploy", **gate(go, timeout_sec=30)}]))
    run_id = running(engine, "deploy")
    far = request_extend(
        engine.ledger_path, run_id, "deploy", by_sec=6e13, until=None, requested_by="test"
    )
    answer = wait_for(
        lambda: (found := read_request(engine.ledger_path, far)) and found.handled_at and found,
        timeout=30,
    )
    assert (answer.outcome, answer.deadline) == ("refused", None)
    assert answer.message == (
        "the timeout of step deploy was not extended: it would end more than 366 days from now"
    )
    go.touch()
    assert proc.wait(timeout=60) == 0
