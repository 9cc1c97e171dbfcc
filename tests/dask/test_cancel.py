"""Cancel and engine death reach a step's process group on its Dask worker."""

from __future__ import annotations

import signal

import pytest

from tests.e2e.conftest import Engine
from tests.support import live_processes_with, wait_for

pytestmark = pytest.mark.dask


def sleeping(marker: str) -> int:
    """How many `sleep MARKER` processes live (the shells that started them not counted)."""
    return sum(1 for p in live_processes_with(marker) if p.info["cmdline"][0] == "sleep")


def _started(engine: Engine) -> str:
    return wait_for(lambda: engine.runs() and engine.runs()[0].id, timeout=60)


def test_engine_cancel_of_a_running_step_stops_its_group(
    engine: Engine, dask_address: str, marker: str
) -> None:
    steps = [
        {"id": "slow", "command": "sh", "args": ["-c", f"sleep {marker} & sleep {marker}"]},
        {"id": "after", "command": "echo", "args": ["cleanup"], "depends_on": ["slow"],
         "condition": "always()"},
    ]  # fmt: skip
    proc = engine.start("run", engine.plan(steps), "--executor", "dask",
                        "--dask-address", dask_address)  # fmt: skip
    run_id = _started(engine)
    wait_for(lambda: sleeping(marker) == 2, timeout=60)
    assert engine.run("cancel", run_id, "--step", "slow").returncode == 0
    proc.communicate(timeout=60)
    assert engine.statuses() == {"slow": "canceled", "after": "succeeded"}
    assert str(engine.attempts("slow")[0].error_code) == "canceled"
    wait_for(lambda: live_processes_with(marker) == [], timeout=30)


def test_canceling_the_run_drops_a_queued_step_unrun(
    engine: Engine, dask_address: str, marker: str
) -> None:
    # Two worker threads: the third step waits in Dask's queue, never placed.
    ran = engine.tmp_path / "ran"
    steps = [{"id": f"s{i}", "command": "sh", "args": ["-c", f"echo {i} >> {ran}; sleep {marker}"]}
             for i in range(3)]  # fmt: skip
    plan = engine.plan(steps, globals={"max_concurrency": 3})
    proc = engine.start("run", plan, "--executor", "dask", "--dask-address", dask_address)
    run_id = _started(engine)
    wait_for(lambda: sleeping(marker) == 2, timeout=60)
    assert engine.run("cancel", run_id).returncode == 0
    proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert set(engine.statuses().values()) == {"canceled"}
    assert len(ran.read_text().splitlines()) == 2
    wait_for(lambda: live_processes_with(marker) == [], timeout=30)


def test_a_killed_engine_leaves_nothing_running_on_the_workers(
    engine: Engine, dask_address: str, marker: str
) -> None:
    steps = [{"id": "slow", "command": "sh", "args": ["-c", f"sleep {marker} & sleep {marker}"]}]
    proc = engine.start("run", engine.plan(steps), "--executor", "dask",
                        "--dask-address", dask_address)  # fmt: skip
    wait_for(lambda: sleeping(marker) == 2, timeout=60)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    # The scheduler releases a vanished client's tasks; the worker's plugin stops the step.
    wait_for(lambda: live_processes_with(marker) == [], timeout=30)


def test_canceling_a_queued_step_drops_it_while_the_workers_stay_busy(
    engine: Engine, dask_address: str, marker: str
) -> None:
    # Both worker threads are taken by steps that run until the end of the test: the queued
    # step's cancel must reach Dask's scheduler, not wait for a free worker to refuse it.
    ran = engine.tmp_path / "ran"
    busy = [{"id": f"busy{i}", "command": "sleep", "args": [marker]} for i in range(2)]
    queued = {"id": "queued", "command": "sh", "args": ["-c", f"touch {ran}"]}
    plan = engine.plan([*busy, queued], globals={"max_concurrency": 3})
    proc = engine.start("run", plan, "--executor", "dask", "--dask-address", dask_address)
    run_id = _started(engine)
    wait_for(lambda: sleeping(marker) == 2, timeout=60)
    wait_for(lambda: engine.statuses(run_id).get("queued") == "running", timeout=30)
    assert engine.run("cancel", run_id, "--step", "queued").returncode == 0
    wait_for(lambda: engine.statuses(run_id)["queued"] == "canceled", timeout=30)
    assert engine.statuses(run_id) == {"busy0": "running", "busy1": "running", "queued": "canceled"}
    assert engine.attempts("queued")[0].placed_at is None
    assert engine.run("cancel", run_id).returncode == 0
    proc.communicate(timeout=60)
    assert not ran.exists()
    wait_for(lambda: live_processes_with(marker) == [], timeout=30)
