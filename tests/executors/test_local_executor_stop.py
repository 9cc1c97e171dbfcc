"""LocalExecutor stopping whole process groups: timeout, terminate, kill, leftover children.

Time bounds sit far below what a regression would take (a 30-60 s grace, a 300 s sleep), never a
second or so above the expected time: the machine running the tests may be very busy.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time

from engine.executors.attempt import LocalAttempt
from engine.executors.base import LaunchSpec
from engine.executors.local import LocalExecutor
from tests.executors.processes import SpecFactory
from tests.support import live_processes_with, wait_for


def sleeps_running(sleep_arg: str) -> int:
    return sum(p.info["cmdline"][0] == "sleep" for p in live_processes_with(sleep_arg))


async def launch_when_sleeping(
    executor: LocalExecutor, spec: LaunchSpec, sleep_arg: str, sleeps: int = 1
) -> LocalAttempt:
    """Launches and waits until the script's sleeps run, so its traps are set and inherited.

    Waiting for the script's own output is not enough: a TERM reaching a background child between
    fork and exec is swallowed by the shell's inherited trap, and that sleep would survive it.
    """
    handle = await executor.launch(spec)
    assert isinstance(handle, LocalAttempt)
    await asyncio.to_thread(wait_for, lambda: sleeps_running(sleep_arg) == sleeps)
    return handle


async def test_timeout_kills_the_whole_group(
    executor: LocalExecutor, make_spec: SpecFactory, sleep_arg: str
) -> None:
    spec = make_spec(
        "sh", "-c", f"sleep {sleep_arg} & sleep {sleep_arg}", timeout_sec=0.3, kill_grace_sec=60.0
    )
    started = time.monotonic()
    handle = await executor.launch(spec)
    await asyncio.to_thread(wait_for, lambda: sleeps_running(sleep_arg) == 2)
    result = await handle.wait()
    elapsed = time.monotonic() - started
    assert result.timed_out and not result.canceled
    assert (result.exit_code, result.signal) == (None, signal.SIGTERM)
    assert 0.3 <= elapsed < 15  # TERM suffices here: no need to wait out the grace
    assert live_processes_with(sleep_arg) == []


async def test_timeout_kills_after_grace_when_term_is_ignored(
    executor: LocalExecutor, make_spec: SpecFactory, sleep_arg: str
) -> None:
    script = f"trap '' TERM; sleep {sleep_arg} & echo ready; sleep {sleep_arg}"
    spec = make_spec("sh", "-c", script, timeout_sec=0.2, kill_grace_sec=0.3)
    started = time.monotonic()
    result = await (await executor.launch(spec)).wait()
    elapsed = time.monotonic() - started
    assert result.timed_out
    assert result.signal == signal.SIGKILL
    assert 0.5 <= elapsed < 15  # not the sleep's 300 s
    assert live_processes_with(sleep_arg) == []


async def test_terminate_lets_a_term_trap_exit_cleanly(
    executor: LocalExecutor, make_spec: SpecFactory, sleep_arg: str
) -> None:
    script = f"trap 'echo bye; exit 0' TERM; sleep {sleep_arg} & echo ready; wait"
    spec = make_spec("sh", "-c", script)
    handle = await launch_when_sleeping(executor, spec, sleep_arg)
    started = time.monotonic()
    await handle.terminate(60.0)
    assert time.monotonic() - started < 15  # did not wait out the grace
    result = await handle.wait()
    assert result.canceled and not result.timed_out
    assert (result.exit_code, result.signal) == (0, None)
    assert result.output_tail == "ready\nbye\n"
    assert live_processes_with(sleep_arg) == []


async def test_terminate_kills_after_grace_when_term_is_ignored(
    executor: LocalExecutor, make_spec: SpecFactory, sleep_arg: str
) -> None:
    script = f"trap '' TERM; echo ready; sleep {sleep_arg}"
    spec = make_spec("sh", "-c", script)
    handle = await launch_when_sleeping(executor, spec, sleep_arg)
    started = time.monotonic()
    await handle.terminate(0.3)
    elapsed = time.monotonic() - started
    result = await handle.wait()
    assert 0.3 <= elapsed < 15  # not the sleep's 300 s
    assert result.canceled and result.signal == signal.SIGKILL
    assert live_processes_with(sleep_arg) == []


async def test_kill_is_immediate(
    executor: LocalExecutor, make_spec: SpecFactory, sleep_arg: str
) -> None:
    script = f"trap '' TERM; sleep {sleep_arg} & echo ready; wait"
    spec = make_spec("sh", "-c", script, kill_grace_sec=60.0)
    handle = await launch_when_sleeping(executor, spec, sleep_arg)
    started = time.monotonic()
    handle.kill()
    result = await handle.wait()
    assert time.monotonic() - started < 15  # no grace
    assert result.canceled and result.signal == signal.SIGKILL
    assert live_processes_with(sleep_arg) == []


async def test_kill_cuts_a_terminate_grace_short(
    executor: LocalExecutor, make_spec: SpecFactory, sleep_arg: str
) -> None:
    spec = make_spec("sh", "-c", f"trap '' TERM; echo ready; sleep {sleep_arg}")
    handle = await launch_when_sleeping(executor, spec, sleep_arg)
    started = time.monotonic()
    terminating = asyncio.create_task(handle.terminate(60.0))
    await asyncio.sleep(0.05)
    handle.kill()
    await terminating
    assert time.monotonic() - started < 15  # not the 60 s grace
    assert (await handle.wait()).signal == signal.SIGKILL


async def test_background_child_of_a_successful_step_is_killed(
    executor: LocalExecutor, make_spec: SpecFactory, sleep_arg: str
) -> None:
    spec = make_spec("sh", "-c", f"sleep {sleep_arg} & echo started")
    result = await (await executor.launch(spec)).wait()
    assert (result.exit_code, result.canceled, result.timed_out) == (0, False, False)
    assert live_processes_with(sleep_arg) == []


async def test_background_child_ignoring_term_is_killed_after_a_short_grace(
    executor: LocalExecutor, make_spec: SpecFactory, sleep_arg: str
) -> None:
    spec = make_spec("sh", "-c", f"trap '' TERM; sleep {sleep_arg} & exit 0", kill_grace_sec=0.2)
    started = time.monotonic()
    result = await (await executor.launch(spec)).wait()
    assert result.exit_code == 0
    assert time.monotonic() - started < 4.0  # the spec's 0.2 s grace, not the default 5 s
    assert live_processes_with(sleep_arg) == []


async def test_terminate_after_exit_changes_nothing(
    executor: LocalExecutor, make_spec: SpecFactory
) -> None:
    handle = await executor.launch(make_spec("true"))
    result = await handle.wait()
    await handle.terminate(1.0)
    handle.kill()
    assert await handle.wait() is result
    assert not result.canceled


async def test_canceled_threaded_launch_leaves_no_process(
    make_spec: SpecFactory, sleep_arg: str
) -> None:
    executor = LocalExecutor(spawn_threads=1)
    try:
        launching = asyncio.create_task(executor.launch(make_spec("sleep", sleep_arg)))
        await asyncio.sleep(0)  # let it hand the spawn to the thread
        launching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await launching
        # The spawn was allowed to finish and its process killed before the cancellation surfaced.
        assert live_processes_with(sleep_arg) == []
    finally:
        executor.close()
