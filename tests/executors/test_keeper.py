"""Keeping a step's processes with it: setsid descendants, adopted orphans, reaping them."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from pathlib import Path

from engine.executors.attempt import LocalAttempt
from engine.executors.local import LocalExecutor
from tests.executors.processes import SpecFactory
from tests.executors.test_local_executor_stop import sleeps_running
from tests.support import live_processes_with, wait_for


async def test_terminate_reaches_a_setsid_descendant_of_a_live_step(
    executor: LocalExecutor, make_spec: SpecFactory, sleep_arg: str
) -> None:
    """No subreaper needed: while the step runs, the escaper is still in its process tree."""
    spec = make_spec("sh", "-c", f"setsid sleep {sleep_arg} & sleep {sleep_arg}")
    handle = await executor.launch(spec)
    assert isinstance(handle, LocalAttempt)
    await asyncio.to_thread(wait_for, lambda: sleeps_running(sleep_arg) == 2, 30)
    await handle.terminate(grace_sec=5.0)
    assert (await handle.wait()).canceled
    await asyncio.to_thread(wait_for, lambda: not live_processes_with(sleep_arg), 10)


# Runs in a process of its own: the subreaper flag is process-wide, and a pytest process whose
# other tests' orphans came back to it would be a different test.
_ADOPTING_SCRIPT = textwrap.dedent(
    """
    import asyncio, json, os, sys
    from engine.executors.base import LaunchSpec
    from engine.executors.keeper import KEEPER
    from engine.executors.local import LocalExecutor

    marker, logs, watch = sys.argv[1:4]

    def spec(i, command):
        env = {"PATH": os.environ["PATH"], "ENGINE_RUN_ID": "r", "ENGINE_STEP_ID": f"s{i}",
               "ENGINE_ATTEMPT": "1"}
        return LaunchSpec(run_id="r", step_id=f"s{i}", attempt=1, argv=("sh", "-c", command),
                          cwd=None, env=env, log_path=f"{logs}/s{i}.log", timeout_sec=None,
                          kill_grace_sec=2.0)

    async def main():
        executor = LocalExecutor(exit_watch=watch, adopt_orphans=True)
        handles = [await executor.launch(spec(i, f"(setsid sleep {marker} &); exit {i % 7}"))
                   for i in range(40)]
        codes = [(await h.wait()).exit_code for h in handles]
        executor.close()
        children = open(f"/proc/self/task/{os.getpid()}/children").read().split()
        print(json.dumps({"active": KEEPER.active, "codes": codes, "children": children}))

    asyncio.run(main())
    """
)


def test_adopted_orphans_die_and_are_reaped_without_stealing_exit_codes(
    tmp_path: Path, sleep_arg: str
) -> None:
    for watch in ("epoll", "thread"):
        script = subprocess.run(
            [sys.executable, "-c", _ADOPTING_SCRIPT, sleep_arg, str(tmp_path), watch],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert script.returncode == 0, script.stderr
        report = json.loads(script.stdout)
        assert report["active"]
        assert report["codes"] == [i % 7 for i in range(40)]  # no status reaped by the keeper
        assert report["children"] == []  # every adopted orphan killed and reaped
        assert not live_processes_with(sleep_arg)
