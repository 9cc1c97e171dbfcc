"""kill -9 of the engine mid-run: the next command recovers the run and leaves nothing behind."""

from __future__ import annotations

import signal

from tests.e2e.chaos.conftest import assert_ledger_intact
from tests.e2e.conftest import Engine
from tests.support import live_processes_with, wait_for


def test_kill_9_mid_run_is_recovered_with_no_survivor(engine: Engine, marker: str) -> None:
    plan = engine.plan(
        [
            {"id": f"s{i}", "command": f"sleep {marker} & sleep {marker}", "shell": True}
            for i in range(3)
        ],
        globals={"max_concurrency": 3},
    )
    proc = engine.start("run", plan, "--quiet")
    wait_for(lambda: len(live_processes_with(marker)) >= 6, timeout=30)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)

    result = engine.run("runs")  # any command that opens the ledger recovers crashed runs
    assert result.returncode == 0, result.stderr
    assert str(engine.last_run().status) == "crashed"
    wait_for(lambda: not live_processes_with(marker), timeout=10)
    assert_ledger_intact(engine.ledger_path)
