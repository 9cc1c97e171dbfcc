"""A killed engine's at-most-once claims do not pile up on a long-lived scheduler: the next engine
to connect forgets those of runs no engine stamped for ten minutes, and keeps a live run's."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest

from engine.executors.dask.claims import ALIVE, EXPIRE_SEC
from engine.executors.dask.remote import CLAIMS
from tests.e2e.conftest import Engine
from tests.support import wait_for

pytestmark = pytest.mark.dask


@pytest.fixture
def client(dask_address: str) -> Iterator[Any]:
    from distributed import Client

    with Client(dask_address, timeout=30) as connected:
        yield connected


def claims_of(client: Any, run_id: str) -> Any:
    return client.get_metadata([CLAIMS, run_id], default="absent")


def gated(engine: Engine, name: str) -> tuple[list[dict[str, Any]], Any]:
    go = engine.tmp_path / f"go-{name}"
    script = f'while [ ! -e "{go}" ]; do sleep 0.05; done'
    return [{"id": name, "command": "sh", "args": ["-c", script]}], go


def test_the_next_engine_forgets_a_killed_engines_claims_and_keeps_a_live_runs(
    engine: Engine, dask_address: str, client: Any
) -> None:
    address = ("--executor", "dask", "--dask-address", dask_address)
    steps, _ = gated(engine, "doomed")
    doomed = engine.start("run", engine.plan(steps), *address)
    doomed_id = wait_for(lambda: engine.runs() and engine.runs()[0].id, timeout=60)
    key = f"pe-{doomed_id}-doomed-1"
    wait_for(lambda: isinstance(claims_of(client, doomed_id), dict)
             and key in claims_of(client, doomed_id), timeout=60)  # fmt: skip
    doomed.send_signal(signal.SIGKILL)
    doomed.communicate(timeout=30)
    assert ALIVE in claims_of(client, doomed_id)  # nobody forgot them: the engine was killed
    # Ten minutes without a stamp, as if that long had passed since the engine died.
    client.set_metadata([CLAIMS, doomed_id, ALIVE], time.time() - EXPIRE_SEC - 60)

    steps, go = gated(engine, "live")
    live = engine.start("run", engine.plan(steps), *address)
    live_id = wait_for(
        lambda: [r.id for r in engine.runs() if r.id != doomed_id and r.status == "running"],
        timeout=60,
    )[0]
    wait_for(lambda: f"pe-{live_id}-live-1" in (claims_of(client, live_id) or {}), timeout=60)
    # A third engine connects while the live run runs: it forgets only the stale run's claims.
    passing = engine.run_plan([{"id": "quick", "command": "true"}], *address)
    assert passing.returncode == 0, passing.stderr
    assert claims_of(client, doomed_id) is None
    assert f"pe-{live_id}-live-1" in claims_of(client, live_id)
    go.touch()
    _, err = live.communicate(timeout=60)
    assert live.returncode == 0, err
    assert claims_of(client, live_id) is None  # a clean end forgets its own
