"""Each attempt's CPU time and peak memory, from wait4's rusage, under both exit watches."""

from __future__ import annotations

import sys

from engine.executors.local import LocalExecutor
from tests.executors.processes import SpecFactory

# Touches 64 MiB (b"x" * n writes every page) and burns 0.3 s of CPU, measured by the child itself
# so that a loaded machine only makes it slower, never cheaper.
HUNGRY = (
    "import time\n"
    "block = b'x' * (64 << 20)\n"
    "start = time.process_time()\n"
    "while time.process_time() - start < 0.3:\n"
    "    pass\n"
)


async def test_cpu_and_peak_memory_of_the_process_are_measured(
    executor: LocalExecutor, make_spec: SpecFactory
) -> None:
    result = await (await executor.launch(make_spec(sys.executable, "-c", HUNGRY))).wait()
    assert result.exit_code == 0
    assert result.cpu_user_ms is not None and result.cpu_sys_ms is not None
    assert result.cpu_user_ms + result.cpu_sys_ms >= 300
    assert result.max_rss_kb is not None and result.max_rss_kb >= 64 * 1024


async def test_children_the_step_waited_for_count(
    executor: LocalExecutor, make_spec: SpecFactory
) -> None:
    """A shell that runs the work in a child (not exec'd: `; true` follows) reports its usage."""
    command = f"'{sys.executable}' -c \"$HUNGRY\"; true"
    spec = make_spec("/bin/sh", "-c", command, env={"HUNGRY": HUNGRY})
    result = await (await executor.launch(spec)).wait()
    assert result.exit_code == 0
    assert result.cpu_user_ms is not None and result.cpu_sys_ms is not None
    assert result.cpu_user_ms + result.cpu_sys_ms >= 300
    assert result.max_rss_kb is not None and result.max_rss_kb >= 64 * 1024


async def test_an_attempt_that_never_started_has_no_usage(
    executor: LocalExecutor, make_spec: SpecFactory
) -> None:
    result = await (await executor.launch(make_spec("no-such-command-here"))).wait()
    assert result.spawn_error is not None
    assert (result.cpu_user_ms, result.cpu_sys_ms, result.max_rss_kb) == (None, None, None)
