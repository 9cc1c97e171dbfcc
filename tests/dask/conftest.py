"""A Dask cluster on this machine for the Dask executor's tests (tests/dask, marked `dask`).

One `LocalCluster(processes=True)` serves the whole session: 2 workers of 1 thread, the shape
`engine run --executor dask` starts by itself. Each test runs `engine` as a real subprocess
pointed at it with `--dask-address`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.e2e.conftest import Engine
from tests.e2e.conftest import marker as marker
from tests.support import wait_for

pytest.importorskip("distributed")

DASK = str(Path(sys.executable).with_name("dask"))


@pytest.fixture(scope="session")
def dask_cluster() -> Iterator[Any]:
    from distributed import LocalCluster

    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    yield cluster
    cluster.close()


@pytest.fixture
def dask_address(dask_cluster: Any) -> str:
    return str(dask_cluster.scheduler_address)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    runner = Engine(tmp_path)
    yield runner
    runner.close()


class DaskProcesses:
    """A `dask scheduler` and `dask worker`s started as separate processes on 127.0.0.1."""

    def __init__(self, tmp_path: Path) -> None:
        self.file = tmp_path / "scheduler.json"
        self.scheduler: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []

    @property
    def address(self) -> str:
        return str(json.loads(self.file.read_text())["address"])

    def start_scheduler(self) -> None:
        argv = [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard"]
        self.scheduler = _quiet([*argv, "--scheduler-file", str(self.file)])
        wait_for(self.file.exists, timeout=60)

    def start_worker(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        argv = [DASK, "worker", "--scheduler-file", str(self.file), "--name", name]
        worker = _quiet([*argv, "--nthreads", "1", "--host", "127.0.0.1", *args])
        self.workers.append(worker)
        return worker

    def stop(self) -> None:
        procs = [*self.workers, *([self.scheduler] if self.scheduler else [])]
        for proc in procs:
            for child in _children(proc.pid):  # a nanny's worker process
                child.kill()
            proc.kill()
        for proc in procs:
            proc.wait(timeout=30)


def _children(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def _quiet(argv: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture
def dask_processes(tmp_path: Path) -> Iterator[DaskProcesses]:
    processes = DaskProcesses(tmp_path)
    try:
        yield processes
    finally:
        processes.stop()
