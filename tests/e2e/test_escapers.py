"""Nothing a step starts outlives it, even a process that leaves its group with `setsid`."""

from __future__ import annotations

import json
import shutil
import signal
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import Engine
from tests.support import live_processes_with, wait_for


def sh(command: str, **fields: object) -> dict[str, object]:
    return {"command": command, "shell": True, **fields}


@pytest.mark.parametrize("watch", ["epoll", "thread"])
def test_a_setsid_child_dies_when_its_step_exits(engine: Engine, marker: str, watch: str) -> None:
    result = engine.run_plan(
        [
            {"id": "daemon", **sh(f"setsid sleep {marker} & exit 0")},
            # The classic double fork: the daemon's parent is gone before the step ends.
            {"id": "double", **sh(f"(setsid sh -c 'sleep {marker} & sleep {marker}' &); exit 0")},
            {"id": "after", "command": "true", "depends_on": ["daemon", "double"]},
        ],
        env={"ENGINE_EXIT_WATCH": watch},
    )
    assert result.returncode == 0, result.stderr
    assert set(engine.statuses().values()) == {"succeeded"}
    assert not live_processes_with(marker)


def test_a_setsid_child_dies_with_its_timed_out_step(engine: Engine, marker: str) -> None:
    result = engine.run_plan(
        [{"id": "slow", **sh(f"setsid sleep {marker} & sleep {marker}"), "timeout_sec": 1}]
    )
    assert result.returncode == 1, result.stderr
    assert engine.attempts("slow")[0].error_code == "timeout"
    assert not live_processes_with(marker)


def test_setsid_descendants_die_when_the_run_is_canceled(engine: Engine, marker: str) -> None:
    plan = engine.plan(
        [
            {"id": "held", **sh(f"(setsid sleep {marker} &); setsid sleep {marker} & wait")},
            {"id": "gone", **sh(f"(setsid sleep {marker} &); sleep {marker}")},
        ]
    )
    proc = engine.start("run", plan, "--quiet")
    wait_for(lambda: len(live_processes_with(marker)) >= 4, timeout=30)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 143, stderr
    assert set(engine.statuses().values()) == {"canceled"}
    assert not live_processes_with(marker)


def test_a_process_that_drops_its_identity_dies_at_the_end_of_the_run(
    engine: Engine, marker: str
) -> None:
    """`env -i` hides which step it came from, not that the engine adopted it."""
    result = engine.run_plan([{"id": "anon", **sh(f"env -i setsid sleep {marker} & exit 0")}])
    assert result.returncode == 0, result.stderr
    assert not live_processes_with(marker)


def test_doctor_names_the_subreaper(engine: Engine) -> None:
    result = engine.run("doctor", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["process_keeping"] == "subreaper"


def test_a_daemon_that_shows_no_environment_at_first_is_still_claimed(
    engine: Engine, marker: str, tmp_path: Path
) -> None:
    """A daemon caught between two execs shows an empty environment: it is read again, not let go.

    The daemon runs with no environment (what a reader sees in the middle of an exec) until the
    step's main process is gone, then execs into `sleep` with its identity back. `check` runs
    after the step has ended and before the run does (which kills every orphan, claimed or not).
    """
    scrubbed = tmp_path / "scrubbed"
    daemon = tmp_path / "daemon.py"
    daemon.write_text(
        "import os, sys, time\n"
        "main, run, step, attempt, marker, flag, sleep = sys.argv[1:]\n"
        "open(flag, 'w').close()\n"
        "while os.path.exists(f'/proc/{main}'):\n"
        "    time.sleep(0.01)\n"
        "identity = {'ENGINE_RUN_ID': run, 'ENGINE_STEP_ID': step, 'ENGINE_ATTEMPT': attempt}\n"
        "os.execve(sleep, ['sleep', marker], identity)\n"
    )
    start = (
        f"(setsid env -i {sys.executable} {daemon} $$ "
        f'"$ENGINE_RUN_ID" "$ENGINE_STEP_ID" "$ENGINE_ATTEMPT" {marker} {scrubbed} '
        f"{shutil.which('sleep')} &)"
    )
    wait_scrubbed = f"while [ ! -e {scrubbed} ]; do sleep 0.01; done"
    unmatched = f"[{marker[0]}]{marker[1:]}"  # matches the marker, not this command line
    result = engine.run_plan(
        [
            {"id": "spawner", **sh(f"{start}; {wait_scrubbed}; exit 0")},
            {"id": "check", **sh(f"! pgrep -f '{unmatched}'"), "depends_on": ["spawner"]},
        ]
    )
    assert result.returncode == 0, result.stderr
    assert engine.statuses() == {"spawner": "succeeded", "check": "succeeded"}
