"""Whole runs under each exit watch: the portable one (ENGINE_EXIT_WATCH=thread) too."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from tests.e2e.conftest import Engine
from tests.support import live_processes_with, wait_for

WATCHES = ["epoll", "thread"]


def sh(command: str, **fields: object) -> dict[str, object]:
    return {"command": command, "shell": True, **fields}


@pytest.mark.parametrize("watch", WATCHES)
def test_a_run_with_retries_outputs_timeouts_and_failures(
    engine: Engine, marker: str, watch: str
) -> None:
    steps = [
        {"id": "out", **sh('echo "V=7" >> "$ENGINE_OUTPUT"'), "provides": ["V"]},
        {"id": "flaky", **sh('[ "$ENGINE_ATTEMPT" -ge 2 ]'),
         "retry": {"max_attempts": 2, "delay_sec": 0}},
        {"id": "use", **sh('[ "${steps.out.outputs.V}" = 7 ]'), "depends_on": ["out", "flaky"]},
        {"id": "slow", **sh(f"sleep {marker} & sleep {marker}"), "timeout_sec": 0.5,
         "on_failure": "continue"},
        {"id": "fails", **sh("exit 3"), "on_failure": "continue"},
    ] + [{"id": f"n{i}", "command": "true"} for i in range(20)]  # fmt: skip
    result = engine.run_plan(
        steps, env={"ENGINE_EXIT_WATCH": watch}, globals={"max_concurrency": 4}
    )
    assert result.returncode == 1, result.stderr
    statuses = engine.statuses()
    assert statuses.pop("slow") == "failed" and statuses.pop("fails") == "failed"
    assert set(statuses.values()) == {"succeeded"}
    assert [a.exit_code for a in engine.attempts("flaky")] == [1, 0]
    assert engine.attempts("fails")[0].exit_code == 3
    assert not live_processes_with(marker)


@pytest.mark.parametrize("watch", WATCHES)
def test_sigterm_cancels_and_leaves_no_process(engine: Engine, marker: str, watch: str) -> None:
    plan = engine.plan([{"id": "hold", **sh(f"sleep {marker} & sleep {marker}")}])
    proc = engine.start("run", plan, "--quiet", env={"ENGINE_EXIT_WATCH": watch})
    wait_for(lambda: len(live_processes_with(marker)) >= 2, timeout=30)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 143, stderr
    assert engine.statuses() == {"hold": "canceled"}
    assert not live_processes_with(marker)


def test_an_unknown_exit_watch_is_a_usage_error_before_any_run(engine: Engine) -> None:
    result = engine.run_plan([{"id": "a", "command": "true"}], env={"ENGINE_EXIT_WATCH": "kq"})
    assert result.returncode == 2
    assert result.stderr == "engine: ENGINE_EXIT_WATCH must be one of epoll, thread, not 'kq'\n"
    assert engine.runs() == []


def test_a_python_without_epoll_or_pidfds_runs_plans(engine: Engine, marker: str) -> None:
    """What macOS lacks, removed from a Linux Python: the engine picks the thread watch itself."""
    plan = engine.plan(
        [
            {"id": "a", **sh("echo hi")},
            {"id": "b", **sh(f"sleep {marker} & exit 4"), "depends_on": ["a"]},
        ]
    )
    without = (
        "import os, select, sys; del select.epoll; del os.pidfd_open;"
        " from engine.cli.main import main; sys.argv[0] = 'engine'; main()"
    )
    proc = subprocess.run(
        [sys.executable, "-c", without, "run", str(plan)], cwd=engine.tmp_path, env=engine.env(),
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert engine.statuses() == {"a": "succeeded", "b": "failed"}
    assert engine.attempts("b")[0].exit_code == 4
    assert not live_processes_with(marker)
