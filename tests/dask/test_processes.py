"""The Dask executor against separately started `dask scheduler` and `dask worker` processes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Engine
from tests.support import wait_for

pytestmark = pytest.mark.dask

DASK = str(Path(sys.executable).with_name("dask"))


def _quiet(argv: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture
def scheduler_file(tmp_path: Path) -> Iterator[Path]:
    """A scheduler and two one-thread workers on 127.0.0.1; its file names the scheduler."""
    path = tmp_path / "scheduler.json"
    scheduler = [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard"]
    procs = [_quiet([*scheduler, "--scheduler-file", str(path)])]
    try:
        wait_for(path.exists, timeout=60)
        for name in ("w1", "w2"):
            worker = [DASK, "worker", "--scheduler-file", str(path), "--name", name]
            procs.append(_quiet([*worker, "--nthreads", "1", "--host", "127.0.0.1"]))
        yield path
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_steps_run_on_separately_started_workers(engine: Engine, scheduler_file: Path) -> None:
    address = json.loads(scheduler_file.read_text())["address"]
    assert address.startswith("tcp://127.0.0.1:")
    steps = [
        {"id": "make", "command": "sh", "provides": ["N"],
         "args": ["-c", "echo N=7 >> $ENGINE_OUTPUT; echo made"]},
        {"id": "use", "command": "sh", "depends_on": ["make"],
         "args": ["-c", "echo n is ${steps.make.outputs.N}; exit 4"]},
    ]  # fmt: skip
    result = engine.run_plan(steps, env={"ENGINE_EXECUTOR": "dask", "ENGINE_DASK_ADDRESS": address})
    assert result.returncode == 1, result.stderr
    assert engine.statuses() == {"make": "succeeded", "use": "failed"}
    use = engine.attempts("use")[0]
    assert (use.exit_code, use.output_tail) == (4, "n is 7\n")
    assert Path(engine.attempts("make")[0].log_path).read_text() == "made\n"
