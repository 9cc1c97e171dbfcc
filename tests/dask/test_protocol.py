"""What one step costs the scheduler: one claim; a short step no log round trip, no event."""

from __future__ import annotations

import functools
import signal
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from engine.executors.dask.claim_handler import HANDLER, ClaimHandler
from engine.executors.dask.remote import CLAIMS
from tests.e2e.conftest import Engine
from tests.support import live_processes_with, until, wait_for

pytestmark = pytest.mark.dask


@contextmanager
def counted(scheduler: Any, ops: list[str]) -> Iterator[Counter[str]]:
    """Counts the calls to the scheduler's handlers `ops` (a proxy call by the worker request
    it carries, as `proxy:ACTION`), and puts the handlers back after."""
    calls: Counter[str] = Counter()
    saved = {op: scheduler.handlers[op] for op in ops}

    def counting(op: str, handler: Any) -> Any:
        @functools.wraps(handler)
        def call(*args: Any, **kwargs: Any) -> Any:
            calls[op] += 1
            if op == "proxy":
                calls[f"proxy:{kwargs['msg'].get('action')}"] += 1
            return handler(*args, **kwargs)

        return call

    for op, handler in saved.items():
        scheduler.handlers[op] = counting(op, handler)
    log_event = scheduler.stream_handlers["log-event"]

    @functools.wraps(log_event)
    def event(*args: Any, **kwargs: Any) -> Any:
        if str(kwargs.get("topic", "")).startswith("plan-engine-"):
            calls["start events"] += 1
        return log_event(*args, **kwargs)

    scheduler.stream_handlers["log-event"] = event
    try:
        yield calls
    finally:
        scheduler.handlers.update(saved)
        scheduler.stream_handlers["log-event"] = log_event


def test_a_short_step_costs_one_claim_and_no_other_message(
    engine: Engine, dask_cluster: Any
) -> None:
    from distributed import Client

    with Client(dask_cluster, set_as_default=False) as client:
        # As the engine will, so that the handler is there to be counted.
        client.register_plugin(ClaimHandler(CLAIMS), name=ClaimHandler.name)
    steps = [{"id": f"s{i}", "command": "sh", "args": ["-c", f"echo line {i}"]} for i in range(4)]
    ops = ["proxy", "get_metadata", HANDLER]
    with counted(dask_cluster.scheduler, ops) as calls:
        result = engine.run_plan(
            steps, "--executor", "dask", "--dask-address", dask_cluster.scheduler_address
        )
    assert result.returncode == 0, result.stderr
    for i in range(4):
        assert Path(engine.attempts(f"s{i}")[0].log_path).read_text() == f"line {i}\n"
    # One claim per step, test-and-set on the scheduler (not a get then a set from the worker).
    assert calls[HANDLER] == 4
    assert calls["get_metadata"] <= 1  # the engine's one look for stale claims (claims.py)
    # The whole log came in the task's result, and the worker dropped its copy by itself.
    assert calls["proxy:forget"] == 0
    # Where it ran came in the result too: a start event is sent only by a step still running
    # after START_AFTER_SEC (bounded, not zero: a loaded machine may stall an `echo` that long).
    assert calls["start events"] < 4
    for attempt in (engine.attempts(f"s{i}")[0] for i in range(4)):
        assert attempt.worker and attempt.worker.startswith("tcp://")
        assert attempt.placed_at is not None and attempt.placed_at >= attempt.started_at


def test_the_scheduler_grants_each_claim_once(dask_cluster: Any) -> None:
    from distributed import Client

    with Client(dask_cluster, set_as_default=False) as client:
        client.register_plugin(ClaimHandler(CLAIMS), name=ClaimHandler.name)
        assert client.scheduler is not None

        def claim(key: str, by: str) -> bool | str:
            call = getattr(client.scheduler, HANDLER)
            answer: bool | str = client.sync(call, run_id="run-claims", key=key, by=by)
            return answer

        assert claim("pe-a", "tcp://w1") is True
        assert claim("pe-a", "tcp://w2") == "tcp://w1"  # Dask's re-run of it, elsewhere
        assert claim("pe-a", "") == "tcp://w1"  # the engine, stopping it: it runs on w1
        assert claim("pe-b", "") is True  # the engine, canceling a step before it started
        assert claim("pe-b", "tcp://w1") == ""
        client.sync(client.scheduler.set_metadata, keys=[CLAIMS, "run-claims"], value=None)
        assert claim("pe-a", "tcp://w3") is True  # a forgotten run's keys are free again


def test_a_step_stopped_before_its_start_event_is_stopped_on_its_worker(
    dask_cluster: Any, tmp_path: Path, marker: str
) -> None:
    # Stopped as soon as its process runs, usually within START_AFTER_SEC, before the engine has
    # heard where: its claim names the worker, which stops it. Later, the usual path does.
    import asyncio
    import os

    from engine.executors.base import LaunchSpec
    from engine.executors.dask.cluster import connect
    from engine.executors.dask.executor import DaskExecutor

    async def run() -> tuple[Any, str | None]:
        executor = DaskExecutor(await connect(dask_cluster.scheduler_address))
        try:
            spec = LaunchSpec(
                run_id="run-window", step_id="s", attempt=1,
                argv=("sh", "-c", f"echo hi; exec sleep {marker}"), cwd=None,
                env={**os.environ, "ENGINE_OUTPUT": str(tmp_path / "out")},
                log_path=str(tmp_path / "s.log"), timeout_sec=None, kill_grace_sec=5.0,
            )  # fmt: skip
            attempt = await executor.launch(spec)
            await until(lambda: live_processes_with(marker), 30)
            await attempt.terminate(5.0)
            result = await attempt.wait()
            return result, getattr(attempt, "worker", None)
        finally:
            await executor.aclose()

    result, worker = asyncio.run(run())
    assert result.canceled and result.signal == signal.SIGTERM
    assert worker and worker.startswith("tcp://")  # from the result, if not from an event
    assert (tmp_path / "s.log").read_text() == "hi\n"
    wait_for(lambda: live_processes_with(marker) == [], timeout=30)
