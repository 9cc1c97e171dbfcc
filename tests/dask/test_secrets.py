"""Secrets never reach the Dask scheduler in clear, nor the ledger; no key, no run."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.dask.keyed_cluster import KeyedCluster, keyed_cluster
from tests.e2e.conftest import Engine
from tests.support import wait_for

pytestmark = pytest.mark.dask

SECRET = "Zq8-sealed-secret-value-4711"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeyedCluster]:
    with keyed_cluster(tmp_path_factory.mktemp("keyed")) as running:
        yield running


def scheduler_state(dask_scheduler: Any) -> bytes:
    """Everything the scheduler holds about tasks and events, as bytes to search.

    Run on the scheduler by `run_on_scheduler`, which logs the function it runs: this one holds
    nothing secret.
    """
    parts: list[bytes] = []
    for key, task in dask_scheduler.tasks.items():
        parts.append(repr(key).encode())
        parts.append(repr(task.run_spec).encode())
        parts.append(pickle.dumps(task.run_spec))
    events = dask_scheduler.get_events()  # every topic's kept events, "all" included
    parts.append(pickle.dumps(events))
    parts.append(repr(events).encode())
    return b"\n".join(parts)


def secret_plan(engine: Engine, go: Path) -> Path:
    steps = [
        {"id": "use", "command": "sh", "secrets": ["TOKEN"], "provides": ["T"],
         "args": ["-c", f"echo token is $TOKEN; echo T=$TOKEN >> $ENGINE_OUTPUT; "
                        f"while [ ! -e {go} ]; do sleep 0.05; done"]},
    ]  # fmt: skip
    return engine.plan(steps, secrets=["TOKEN"])


def test_a_secret_is_sealed_past_the_scheduler_and_masked_on_the_worker(
    engine: Engine, cluster: KeyedCluster
) -> None:
    go = engine.tmp_path / "go"
    env = {"TOKEN": SECRET, "ENGINE_DASK_KEY": cluster.key}
    proc = engine.start(
        "run", secret_plan(engine, go), "--executor", "dask", "--dask-address", cluster.address,
        env=env,
    )  # fmt: skip
    # While the step runs, its task (and its sealed arguments) sit in the scheduler.
    wait_for(lambda: any("-use-" in str(k) for k in cluster.client.run_on_scheduler(_keys)), 60)
    running = cluster.client.run_on_scheduler(scheduler_state)
    assert b"-use-1" in running  # the task is there ...
    assert SECRET.encode() not in running  # ... but not the secret
    go.touch()
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    attempt = engine.attempts("use")[0]
    assert attempt.output_tail == "token is ***\n"
    assert Path(attempt.log_path).read_text() == "token is ***\n"
    assert SECRET.encode() not in cluster.client.run_on_scheduler(scheduler_state)
    for path in engine.ledger_dir.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    assert SECRET not in stdout + stderr


def _keys(dask_scheduler: Any) -> list[str]:
    return [str(key) for key in dask_scheduler.tasks]


def test_without_the_key_a_plan_with_secrets_is_refused_before_the_run(engine: Engine) -> None:
    # No cluster is reached: the refusal comes first.
    result = engine.run_plan(
        [{"id": "use", "command": "true", "secrets": ["TOKEN"]}],
        "--executor", "dask", "--dask-address", "tcp://127.0.0.1:9",
        env={"TOKEN": SECRET}, secrets=["TOKEN"],
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert "must seal them: set ENGINE_DASK_KEY" in result.stderr
    assert engine.runs() == []


def test_an_unset_optional_secret_needs_no_key(engine: Engine, dask_address: str) -> None:
    # Only a secret that has a value is sent (sealed): an optional one left unset is not.
    no_key = {"ENGINE_DASK_KEY": "", "ENGINE_DASK_KEY_FILE": "", "TOKEN": ""}
    result = engine.run_plan(
        [{"id": "use", "command": "sh", "args": ["-c", 'test -z "$TOKEN"'],
          "secrets": ["TOKEN"]}],
        "--executor", "dask", "--dask-address", dask_address,
        env=no_key, secrets=[{"name": "TOKEN", "optional": True}],
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert engine.statuses() == {"use": "succeeded"}


def test_a_worker_without_the_key_fails_the_step_with_one_sentence(
    engine: Engine, cluster: KeyedCluster
) -> None:
    cluster.add_worker("--nthreads", "1", "--resources", "keyless=1", env={})
    steps = [{"id": "use", "command": "true", "secrets": ["TOKEN"], "resources": {"keyless": 1}}]
    result = engine.run_plan(
        steps, "--executor", "dask", "--dask-address", cluster.address,
        env={"TOKEN": SECRET, "ENGINE_DASK_KEY": cluster.key}, secrets=["TOKEN"],
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    attempt = engine.attempts("use")[0]
    assert str(attempt.error_code) == "spawn_failed"
    assert "cannot read the step's secrets on " in (attempt.message or "")
    assert "ENGINE_DASK_KEY is not set on this worker" in (attempt.message or "")
