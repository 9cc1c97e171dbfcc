"""`engine extend --step` moves the timeout of a step running on a Dask worker, which keeps it."""

from __future__ import annotations

import time

import pytest

from engine.ledger.times import from_iso
from tests.e2e.conftest import Engine
from tests.support import live_processes_with, wait_for

pytestmark = pytest.mark.dask


def placed(engine: Engine, step: str) -> str:
    """The run id, once a worker has started `step`."""

    def started() -> str | None:
        runs = engine.runs()
        if not runs:
            return None
        attempts = engine.attempts(step, run_id=runs[0].id)
        return runs[0].id if attempts and attempts[0].placed_at is not None else None

    return wait_for(started, timeout=60)


def test_an_extended_remote_step_outlives_its_first_timeout_and_succeeds(
    engine: Engine, dask_address: str
) -> None:
    go = engine.tmp_path / "go"
    script = f'while [ ! -e "{go}" ]; do sleep 0.05; done'
    steps = [{"id": "deploy", "command": "sh", "args": ["-c", script], "timeout_sec": 10}]
    proc = engine.start("run", engine.plan(steps, globals={"kill_grace_sec": 0.5}),
                        "--executor", "dask", "--dask-address", dask_address)  # fmt: skip
    run_id = placed(engine, "deploy")
    extended = engine.run("extend", run_id, "--step", "deploy", "--by", "10m", "--wait", "30")
    assert extended.returncode == 0, extended.stderr
    assert "the timeout of step deploy now ends at" in extended.stderr
    with engine.reader() as reader:
        (event,) = reader.events(run_id=run_id, types=["timeout_extended"])
    assert event.step_id == "deploy" and event.data is not None
    first = from_iso(event.data["previous_deadline"])
    assert abs(from_iso(event.data["deadline"]) - first - 600) < 0.01
    # Past the first deadline (the worker's, a little earlier), the worker has not stopped it.
    wait_for(lambda: time.time() > first + 2, timeout=30)
    assert engine.statuses(run_id) == {"deploy": "running"}
    go.touch()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "deploy: timeout extended to" in out
    (attempt,) = engine.attempts("deploy")
    assert (attempt.status, attempt.error_code) == ("succeeded", None)


def test_a_remote_step_that_timed_out_cannot_be_revived(engine: Engine, dask_address: str) -> None:
    go = engine.tmp_path / "go"
    gate = f'while [ ! -e "{go}" ]; do sleep 0.05; done'
    steps = [
        {"id": "short", "command": "sleep", "args": ["30"], "timeout_sec": 0.5,
         "on_failure": "continue"},
        {"id": "keep", "command": "sh", "args": ["-c", gate]},
    ]  # fmt: skip
    proc = engine.start("run", engine.plan(steps, globals={"kill_grace_sec": 0.2}),
                        "--executor", "dask", "--dask-address", dask_address)  # fmt: skip
    run_id = placed(engine, "keep")
    wait_for(lambda: engine.statuses(run_id)["short"] == "failed", timeout=60)
    revived = engine.run("extend", run_id, "--step", "short", "--by", "1h", "--wait", "30")
    assert revived.returncode == 1
    assert "it is not running" in revived.stderr
    no_timeout = engine.run("extend", run_id, "--step", "keep", "--by", "1h", "--wait", "30")
    assert no_timeout.returncode == 1
    assert "it has no timeout" in no_timeout.stderr
    go.touch()
    proc.communicate(timeout=60)
    assert [a.error_code for a in engine.attempts("short")] == ["timeout"]


def test_a_queued_remote_step_is_refused_with_why(
    engine: Engine, dask_address: str, marker: str
) -> None:
    # Both worker threads are taken: the third step waits in Dask's queue, no timeout running.
    busy = [{"id": f"busy{i}", "command": "sleep", "args": [marker]} for i in range(2)]
    queued = {"id": "queued", "command": "true", "timeout_sec": 60}
    plan = engine.plan([*busy, queued], globals={"max_concurrency": 3, "kill_grace_sec": 0.2})
    proc = engine.start("run", plan, "--executor", "dask", "--dask-address", dask_address)
    run_id = placed(engine, "busy0")
    placed(engine, "busy1")
    wait_for(lambda: engine.statuses(run_id).get("queued") == "running", timeout=30)
    refused = engine.run("extend", run_id, "--step", "queued", "--by", "1h", "--wait", "30")
    assert refused.returncode == 1
    assert "no worker has reported it started yet" in refused.stderr
    assert engine.run("cancel", run_id).returncode == 0
    proc.communicate(timeout=60)
    wait_for(lambda: live_processes_with(marker) == [], timeout=30)
