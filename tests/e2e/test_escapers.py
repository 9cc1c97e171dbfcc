"""Nothing a step starts outlives it, even a process that leaves its group with `setsid`."""

from __future__ import annotations

import json
import signal

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
