"""Each attempt's CPU time and peak memory, from wait4's rusage, under both exit watches."""

from __future__ import annotations

import sys

from engine.executors.local import LocalExecutor
from engine.executors.peak_memory import engine_peak_kb
from tests.executors.processes import SpecFactory


# A step's peak counts only above the executor's own (engine/executors/peak_memory.py), and this
# test process is the executor's: the child touches 64 MiB more than that (b"x" * n writes every
# page) and burns 0.3 s of CPU, measured by the child itself so that a loaded machine only makes
# it slower, never cheaper.
def hungry() -> tuple[str, int]:
    """The child's code, and the KiB it touches at least."""
    block_kb = engine_peak_kb() + 64 * 1024
    code = (
        "import time\n"
        f"block = b'x' * ({block_kb} << 10)\n"
        "start = time.process_time()\n"
        "while time.process_time() - start < 0.3:\n"
        "    pass\n"
    )
    return code, block_kb


async def test_cpu_and_peak_memory_of_the_process_are_measured(
    executor: LocalExecutor, make_spec: SpecFactory
) -> None:
    code, block_kb = hungry()
    result = await (await executor.launch(make_spec(sys.executable, "-c", code))).wait()
    assert result.exit_code == 0
    assert result.cpu_user_ms is not None and result.cpu_sys_ms is not None
    assert result.cpu_user_ms + result.cpu_sys_ms >= 300
    assert result.max_rss_kb is not None and result.max_rss_kb >= block_kb


async def test_children_the_step_waited_for_count(
    executor: LocalExecutor, make_spec: SpecFactory
) -> None:
    """A shell that runs the work in a child (not exec'd: `; true` follows) reports its usage."""
    code, block_kb = hungry()
    command = f"'{sys.executable}' -c \"$HUNGRY\"; true"
    spec = make_spec("/bin/sh", "-c", command, env={"HUNGRY": code})
    result = await (await executor.launch(spec)).wait()
    assert result.exit_code == 0
    assert result.cpu_user_ms is not None and result.cpu_sys_ms is not None
    assert result.cpu_user_ms + result.cpu_sys_ms >= 300
    assert result.max_rss_kb is not None and result.max_rss_kb >= block_kb


async def test_an_attempt_that_never_started_has_no_usage(
    executor: LocalExecutor, make_spec: SpecFactory
) -> None:
    result = await (await executor.launch(make_spec("no-such-command-here"))).wait()
    assert result.spawn_error is not None
    assert (result.cpu_user_ms, result.cpu_sys_ms, result.max_rss_kb) == (None, None, None)


async def test_a_peak_under_the_executors_own_memory_is_unknown_not_the_executors(
    executor: LocalExecutor, make_spec: SpecFactory
) -> None:
    """`true` reports the memory of the process it was started from as its ru_maxrss (Linux
    counts the pages exec replaced): recorded as unknown rather than as the engine's size."""
    result = await (await executor.launch(make_spec("true"))).wait()
    assert result.exit_code == 0 and result.cpu_user_ms is not None
    assert result.max_rss_kb is None
