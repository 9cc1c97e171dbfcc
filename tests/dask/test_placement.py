"""Steps' resources are honoured on a real cluster, a step no worker can run fails with
`no_worker` at once, and `executor: "local"` keeps a step on the engine's host."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dask.keyed_cluster import KeyedCluster, keyed_cluster
from tests.e2e.conftest import Engine
from tests.support import live_processes_with, wait_for

pytestmark = pytest.mark.dask


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeyedCluster]:
    with keyed_cluster(tmp_path_factory.mktemp("placement")) as running:
        yield running


def _interval(path: Path) -> tuple[float, float]:
    start, end = path.read_text().split()
    return float(start), float(end)


def test_steps_holding_the_one_gpu_run_one_after_the_other_on_its_worker(
    engine: Engine, cluster: KeyedCluster
) -> None:
    # The gpu worker has two threads but one gpu: the two gpu steps cannot overlap.
    record = "date +%s.%N > {0}; sleep 0.5; date +%s.%N >> {0}"
    steps = [
        {"id": f"g{i}", "command": "sh", "resources": {"gpu": 1},
         "args": ["-c", record.format(engine.tmp_path / f"g{i}")]}
        for i in range(2)
    ] + [{"id": "cpu", "command": "true"}]  # fmt: skip
    result = engine.run_plan(
        steps, "--executor", "dask", "--dask-address", cluster.address, "--max-concurrency", "4"
    )
    assert result.returncode == 0, result.stderr
    first, second = sorted(_interval(engine.tmp_path / f"g{i}") for i in range(2))
    assert first[1] <= second[0], (first, second)


def test_a_step_asking_for_what_no_worker_has_fails_at_once_with_no_worker(
    engine: Engine, cluster: KeyedCluster
) -> None:
    steps = [
        {"id": "tpu", "command": "true", "resources": {"tpu": 1}, "on_failure": "continue",
         "retry": {"max_attempts": 3, "delay_sec": 0}},
        {"id": "two-gpus", "command": "true", "resources": {"gpu": 2}, "on_failure": "continue"},
        {"id": "fine", "command": "true", "resources": {"gpu": 1}},
    ]  # fmt: skip
    started = time.monotonic()
    result = engine.run_plan(
        steps, "--executor", "dask", "--dask-address", cluster.address, timeout=120
    )
    assert time.monotonic() - started < 60  # not waiting for ever
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    tpu = engine.attempts("tpu")
    assert len(tpu) == 1  # not retried: a retry would find no worker either
    assert str(tpu[0].error_code) == "no_worker"
    assert 'step "tpu" asks for (tpu=1): its workers offer' in (tpu[0].message or "")
    assert str(engine.attempts("two-gpus")[0].error_code) == "no_worker"
    assert engine.statuses()["fine"] == "succeeded"


def test_steps_fail_at_once_when_the_last_worker_able_to_run_them_leaves(
    engine: Engine, cluster: KeyedCluster, marker: str
) -> None:
    worker = cluster.add_worker("--nthreads", "1", "--resources", "fpga=1")
    # Both hold the worker once they run: whichever Dask runs first (each step's submit waits
    # for its own resource check), the other waits in Dask's queue.
    step = {"command": "sleep", "args": [marker], "resources": {"fpga": 1}}
    steps = [{"id": name, **step, "on_failure": "continue"} for name in ("one", "two")]
    proc = engine.start(
        "run", engine.plan(steps), "--executor", "dask", "--dask-address", cluster.address
    )
    wait_for(lambda: live_processes_with(marker), 60)  # one runs on the fpga worker
    worker.send_signal(signal.SIGKILL)
    # Dask puts both back in its queue, where no worker will ever run them: neither waits for ever.
    _, stderr = proc.communicate(timeout=90)
    assert proc.returncode == 1, stderr
    attempts = {name: engine.attempts(name) for name in ("one", "two")}
    assert all(len(each) == 1 for each in attempts.values())
    by_code = {str(each[0].error_code): each[0] for each in attempts.values()}
    assert sorted(by_code) == ["no_worker", "worker_lost"]
    assert "fpga=1" in (by_code["no_worker"].message or "")
    assert "was lost mid-step, and no worker of the cluster has the resources" in (
        by_code["worker_lost"].message or ""
    )


def test_a_step_pinned_local_runs_on_the_engines_host_with_its_secret_and_no_key(
    engine: Engine, cluster: KeyedCluster
) -> None:
    parent = 'tr "\\0" " " < /proc/$PPID/cmdline'
    steps = [
        {"id": "here", "command": "sh", "args": ["-c", parent], "executor": "local",
         "secrets": ["TOKEN"]},
        {"id": "there", "command": "sh", "args": ["-c", parent]},
    ]  # fmt: skip
    result = engine.run_plan(
        steps, "--executor", "dask", "--dask-address", cluster.address,
        env={"TOKEN": "local-only-secret-31337"}, secrets=["TOKEN"],
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    here = engine.attempts("here")[0].output_tail
    there = engine.attempts("there")[0].output_tail
    assert "engine run" in here
    assert "engine run" not in there and " worker " in there
