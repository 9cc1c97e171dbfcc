"""What one step costs the scheduler: one claim; a short step no gather, no log round trip, and
no start event; and the scheduler keeps none of the engine's events."""

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
            calls[f"{kwargs['msg'].get('e')} events"] += 1
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
    ops = ["proxy", "get_metadata", HANDLER, "gather", "who_has"]
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
    # Its result came by the run's event stream, ahead of the task's end: no gather through
    # the scheduler to the worker, neither by way of the scheduler nor directly.
    assert calls["end events"] == 4
    assert calls["gather"] == 0 and calls["who_has"] == 0
    # Where it ran came in the result too: a start event is sent only by a step still running
    # after START_AFTER_SEC (bounded, not zero: a loaded machine may stall an `echo` that long).
    assert calls["start events"] < 4
    # The scheduler passed the events on and kept none (relay.py): a result can carry a MiB.
    kept = dask_cluster.scheduler.get_events()
    assert not [topic for topic in kept if topic.startswith("plan-engine-")]
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


def test_an_ended_step_is_released_with_the_next_submit(dask_cluster: Any, tmp_path: Path) -> None:
    # The client sends to the scheduler at most once every 10 ms: a release sent alone as a step
    # ends would hold the next step's submit back that long. Both go in one batch instead. Each
    # step outlasts that interval, so the client is idle when it ends.
    import asyncio
    import os

    from engine.executors.base import LaunchSpec
    from engine.executors.dask.cluster import connect
    from engine.executors.dask.executor import RELEASE_WITHIN_SEC, DaskExecutor

    steps = 10

    def spec(i: int) -> LaunchSpec:
        return LaunchSpec(
            run_id="run-batches", step_id=f"s{i}", attempt=1, argv=("sleep", "0.05"), cwd=None,
            env={**os.environ, "ENGINE_OUTPUT": str(tmp_path / f"out{i}")},
            log_path=str(tmp_path / f"s{i}.log"), timeout_sec=None, kill_grace_sec=5.0,
        )  # fmt: skip

    async def run() -> int:
        connection = await connect(dask_cluster.scheduler_address)
        executor = DaskExecutor(connection)
        stream = connection.client.scheduler_comm
        assert stream is not None
        try:
            first = await executor.launch(spec(0))
            await first.wait()
            before = stream.batch_count
            for i in range(1, steps):
                result = await (await executor.launch(spec(i))).wait()
                assert result.exit_code == 0
            sent = stream.batch_count - before
            # The last step's release goes alone, once no submit came for a while.
            await until(lambda: stream.batch_count > before + sent, 10 + RELEASE_WITHIN_SEC)
            return sent
        finally:
            executor.close()
            await executor.aclose()

    sent = asyncio.run(run())
    # One batch a step (its submit and the release of the step before), not two. A client
    # heartbeat (every 5 s) may add one, and so may a loop stalled past RELEASE_WITHIN_SEC on a
    # loaded machine: two a step would be 18.
    assert sent <= steps - 1 + 3, sent


def test_a_result_that_came_is_kept_when_the_scheduler_drops_the_task_after(
    dask_cluster: Any, tmp_path: Path
) -> None:
    # The `end` event comes ahead of the task's end. If the scheduler then drops the task (as it
    # does to every future when it goes away), the step still ended as its result says: not lost.
    import asyncio
    import os

    from engine.executors.base import LaunchSpec
    from engine.executors.dask.cluster import connect
    from engine.executors.dask.executor import DaskExecutor

    scheduler = dask_cluster.scheduler
    finished = scheduler.stream_handlers["task-finished"]
    held: list[str] = []

    def hold(*args: Any, **kwargs: Any) -> Any:
        if str(kwargs.get("key", "")).startswith("pe-run-dropped-"):
            held.append(kwargs["key"])  # the task's end never reaches the scheduler
            return None
        return finished(*args, **kwargs)

    async def run() -> Any:
        connection = await connect(dask_cluster.scheduler_address)
        executor = DaskExecutor(connection)
        try:
            spec = LaunchSpec(
                run_id="run-dropped", step_id="s", attempt=1, argv=("echo", "done"), cwd=None,
                env={**os.environ, "ENGINE_OUTPUT": str(tmp_path / "out")},
                log_path=str(tmp_path / "s.log"), timeout_sec=None, kill_grace_sec=5.0,
            )  # fmt: skip
            attempt = await executor.launch(spec)
            await until(lambda: held, 30)
            scheduler.loop.add_callback(
                scheduler.stimulus_cancel, held, connection.client.id, True, "test", ""
            )
            return await attempt.wait()
        finally:
            executor.close()
            await executor.aclose()

    scheduler.stream_handlers["task-finished"] = hold
    try:
        result = asyncio.run(run())
    finally:
        scheduler.stream_handlers["task-finished"] = finished
    assert result.lost is None and result.exit_code == 0
    assert (tmp_path / "s.log").read_text() == "done\n"


def test_a_result_msgpack_cannot_carry_is_not_sent_as_an_event() -> None:
    # Dask learns that msgpack refuses a message only as it writes the batch to the scheduler,
    # and the worker dies of it: such a result must go back pickled, as the task's.
    import msgpack

    from engine.executors.dask.remote import sendable

    refused = {"spawn_error": "cannot run /opt/\udcff: no such file", "log": b"\xff\xfe"}
    with pytest.raises(UnicodeEncodeError):
        msgpack.packb(refused)
    assert not sendable(refused)
    carried = {"spawn_error": None, "output_tail": "d\u00e9j\u00e0 \ufffd", "log": b"\xff\xfe"}
    msgpack.packb(carried)
    assert sendable(carried)
