"""A running attempt's timeout moves later; one that fired, or none at all, cannot be moved."""

from __future__ import annotations

import time

from engine.executors.local import LocalExecutor
from tests.executors.processes import SpecFactory
from tests.support import until


async def test_an_extended_attempt_outlives_its_first_deadline(
    executor: LocalExecutor, make_spec: SpecFactory
) -> None:
    handle = await executor.launch(make_spec("sleep", "1.5", timeout_sec=1.0))
    first = handle.deadline
    assert first is not None
    assert handle.extend_timeout(first - 0.5) == "that would not lengthen its timeout"
    assert handle.extend_timeout(first + 30) is None
    assert handle.deadline == first + 30
    result = await handle.wait()
    assert (result.timed_out, result.exit_code) == (False, 0)  # slept past the first deadline
    assert handle.deadline is None
    assert handle.extend_timeout(time.time() + 60) == "it is no longer running"


async def test_a_timeout_that_fired_cannot_be_taken_back(
    executor: LocalExecutor, make_spec: SpecFactory, sleep_arg: str
) -> None:
    handle = await executor.launch(make_spec("sleep", sleep_arg, timeout_sec=0.2))
    await until(lambda: handle.deadline is None, timeout=30)
    assert handle.extend_timeout(time.time() + 60) == "it already timed out"
    result = await handle.wait()
    assert result.timed_out


async def test_an_attempt_without_a_timeout_has_none_to_extend(
    executor: LocalExecutor, make_spec: SpecFactory
) -> None:
    handle = await executor.launch(make_spec("true"))
    assert handle.extend_timeout(time.time() + 60) in (
        "it has no timeout",
        "it is no longer running",
    )
    await handle.wait()
