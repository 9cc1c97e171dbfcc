"""A worker moves a step's timeout by a duration past its first deadline (never by the engine's
clock), and cannot take back a timeout that fired."""

from __future__ import annotations

import time

import pytest

from engine.executors.local import LocalExecutor
from tests.executors.processes import SpecFactory
from tests.support import until

pytest.importorskip("distributed")

from engine.executors.dask import remote


async def test_the_worker_moves_the_timeout_from_its_own_first_deadline(
    executor: LocalExecutor, make_spec: SpecFactory, sleep_arg: str
) -> None:
    handle = await executor.launch(make_spec("sleep", sleep_arg, timeout_sec=30.0))
    first = handle.deadline
    assert first is not None
    running = remote._Running(handle, make_spec("true"), "", first_deadline=first)
    assert await remote._extend(running, 600.0) is True
    assert handle.deadline == first + 600
    # Asked again for less than it has now: nothing moves (the engine's requests are in turn).
    assert await remote._extend(running, 60.0) == "that would not lengthen its timeout"
    assert handle.deadline == first + 600
    handle.kill()
    await handle.wait()


async def test_a_timeout_that_fired_on_the_worker_cannot_be_taken_back(
    executor: LocalExecutor, make_spec: SpecFactory, sleep_arg: str
) -> None:
    handle = await executor.launch(make_spec("sleep", sleep_arg, timeout_sec=0.2))
    running = remote._Running(handle, make_spec("true"), "", first_deadline=handle.deadline)
    await until(lambda: handle.deadline is None, timeout=30)
    assert await remote._extend(running, time.time()) == "it already timed out"
    assert (await handle.wait()).timed_out
    without = remote._Running(handle, make_spec("true"), "", first_deadline=None)
    assert await remote._extend(without, 60.0) == "it has no timeout"
