"""A Dask cluster on this machine for the Dask executor's tests (tests/dask, marked `dask`).

One `LocalCluster(processes=True)` serves the whole session: 2 workers of 1 thread, the shape
`engine run --executor dask` starts by itself. Each test runs `engine` as a real subprocess
pointed at it with `--dask-address`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Engine
from tests.e2e.conftest import marker as marker

pytest.importorskip("distributed")


@pytest.fixture(scope="session")
def dask_cluster() -> Iterator[Any]:
    from distributed import LocalCluster

    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
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
