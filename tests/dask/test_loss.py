"""At most once: a lost worker or scheduler ends an attempt as `worker_lost`, never a re-run."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.dask.conftest import DaskProcesses
from tests.e2e.conftest import Engine
from tests.support import live_processes_with, wait_for

pytestmark = pytest.mark.dask


def _steps(count: Path, marker: str) -> list[dict[str, Any]]:
    """A step that counts its runs per attempt; attempt 1 hangs, attempt 2 succeeds."""
    script = (
        f'echo run >> {count}.$ENGINE_ATTEMPT; '
        f'if [ "$ENGINE_ATTEMPT" = 1 ]; then sleep {marker}; fi; echo done'
    )  # fmt: skip
    return [{"id": "work", "command": "sh", "args": ["-c", script], "retry": {"max_attempts": 2,
             "delay_sec": 0}}]  # fmt: skip


def _worker_of_step(marker: str) -> psutil.Process:
    """The worker process running the step: the parent of the `sh` whose child sleeps."""
    sleeps = wait_for(
        lambda: [p for p in live_processes_with(marker) if p.info["cmdline"][0] == "sleep"],
        timeout=60,
    )
    return sleeps[0].parent().parent()


def _lost_once_then_retried(engine: Engine, count: Path, marker: str) -> None:
    attempts = engine.attempts("work")
    assert [(a.attempt, str(a.status), a.error_code and str(a.error_code)) for a in attempts] == [
        (1, "failed", "worker_lost"),
        (2, "succeeded", None),
    ]
    assert "was lost" in (attempts[0].message or "")
    # Each attempt's command ran exactly once: Dask's own re-run of attempt 1 was refused.
    assert Path(f"{count}.1").read_text() == "run\n"
    assert Path(f"{count}.2").read_text() == "run\n"
    wait_for(lambda: live_processes_with(marker) == [], timeout=30)


def test_a_worker_killed_mid_step_is_lost_once_retried_and_its_group_swept(
    engine: Engine, dask_processes: DaskProcesses, marker: str
) -> None:
    dask_processes.start_scheduler()
    dask_processes.start_worker("first", "--no-nanny")
    count = engine.tmp_path / "count"
    proc = engine.start("run", engine.plan(_steps(count, marker)), "--executor", "dask",
                        "--dask-address", dask_processes.address)  # fmt: skip
    worker = _worker_of_step(marker)
    dask_processes.start_worker("second", "--no-nanny")
    worker.send_signal(signal.SIGKILL)
    _, stderr = proc.communicate(timeout=90)
    assert proc.returncode == 0, stderr
    # The orphaned `sleep` of attempt 1 is swept by the surviving worker (sweep.py).
    _lost_once_then_retried(engine, count, marker)


def test_a_worker_retired_gracefully_mid_step_is_lost_once_and_retried(
    engine: Engine, dask_processes: DaskProcesses, marker: str
) -> None:
    from distributed import Client

    dask_processes.start_scheduler()
    dask_processes.start_worker("first")
    dask_processes.start_worker("second")
    count = engine.tmp_path / "count"
    proc = engine.start("run", engine.plan(_steps(count, marker)), "--executor", "dask",
                        "--dask-address", dask_processes.address)  # fmt: skip
    worker = _worker_of_step(marker)
    with Client(dask_processes.address, timeout=30) as client:
        pids = client.run(os.getpid)
        address = next(a for a, pid in pids.items() if pid == worker.pid)
        client.retire_workers(workers=[address], close_workers=True)
    _, stderr = proc.communicate(timeout=90)
    assert proc.returncode == 0, stderr
    _lost_once_then_retried(engine, count, marker)


def test_a_killed_scheduler_fails_the_running_attempt_as_lost(
    engine: Engine, dask_processes: DaskProcesses, marker: str
) -> None:
    dask_processes.start_scheduler()
    dask_processes.start_worker("only")
    steps = [{"id": "work", "command": "sh", "args": ["-c", f"sleep {marker}"]}]
    proc = engine.start("run", engine.plan(steps), "--executor", "dask",
                        "--dask-address", dask_processes.address)  # fmt: skip
    _worker_of_step(marker)
    assert dask_processes.scheduler is not None
    dask_processes.scheduler.send_signal(signal.SIGKILL)
    _, stderr = proc.communicate(timeout=90)
    assert proc.returncode == 1, stderr
    assert "Traceback" not in stderr, stderr
    attempt = engine.attempts("work")[0]
    assert str(attempt.error_code) == "worker_lost"
    assert "scheduler" in (attempt.message or "")
    # The worker closes without its scheduler, and stops the step as it goes.
    wait_for(lambda: live_processes_with(marker) == [], timeout=60)
