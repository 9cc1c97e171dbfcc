"""The Dask executor against separately started `dask scheduler` and `dask worker` processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dask.conftest import DaskProcesses
from tests.e2e.conftest import Engine

pytestmark = pytest.mark.dask


def test_steps_run_on_separately_started_workers(
    engine: Engine, dask_processes: DaskProcesses
) -> None:
    dask_processes.start_scheduler()
    dask_processes.start_worker("w1")
    dask_processes.start_worker("w2")
    address = dask_processes.address
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
