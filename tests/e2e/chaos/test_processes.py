"""Processes of a run never outlive it: kill -9 storms, and steps that try to escape."""

from __future__ import annotations

import secrets
import signal
import tempfile
from pathlib import Path

from tests.e2e.chaos.conftest import assert_ledger_intact, files_containing
from tests.e2e.chaos.storm import Storm
from tests.e2e.conftest import Engine
from tests.support import live_processes_with, wait_for


def test_kill_9_storm_leaves_no_process_row_or_secret_behind(tmp_path: Path, marker: str) -> None:
    """20 engines SIGKILLed at random moments (in the spawn window too), each recovered."""
    secret = f"storm-secret-{secrets.token_hex(8)}"
    storm = Storm(tmp_path, marker, secret, seed=20261204)
    for _ in range(20):
        storm.kill_one()
    storm.check_secrets([tmp_path, *storm.outputs_dirs(Path(tempfile.gettempdir()))])
    assert not storm.failures, "\n".join(storm.notes)
    assert storm.kills == 20
    assert storm.kills_mid_step >= 5  # enough kills found steps running


def test_setsid_escapers_die_with_their_steps_and_their_run(
    engine: Engine, marker: str, tmp_path: Path
) -> None:
    """Escapers on every way a step ends: exit, timeout, per-step cancel, run cancel, kill -9."""
    secret = f"escaper-secret-{secrets.token_hex(8)}"
    daemon = f"(setsid sh -c 'sleep {marker} & sleep {marker}' &)"
    plan = engine.plan(
        [
            {"id": "exits", "command": f"{daemon}; echo $TOKEN; exit 0", "shell": True,
             "secrets": ["TOKEN"]},
            {"id": "times_out", "command": f"{daemon}; sleep {marker}", "shell": True,
             "timeout_sec": 1, "on_failure": "continue"},
            {"id": "canceled", "command": f"{daemon}; sleep {marker}", "shell": True,
             "on_failure": "continue"},
            {"id": "held", "command": f"{daemon}; sleep {marker}", "shell": True,
             "depends_on": ["exits"]},
        ],
        secrets=["TOKEN"],
    )  # fmt: skip
    env = {"TOKEN": secret}
    proc = engine.start("run", plan, "--quiet", env=env)
    run_id = wait_for(lambda: engine.runs() and engine.last_run().id, timeout=30)
    wait_for(lambda: engine.statuses(run_id)["held"] == "running", timeout=30)
    wait_for(lambda: engine.statuses(run_id)["times_out"] == "failed", timeout=30)
    cancel = engine.run("cancel", run_id, "--step", "canceled", "--wait", "30", env=env)
    assert cancel.returncode == 0, cancel.stderr
    # exits, times_out and canceled have ended: none of their processes is left.
    wait_for(lambda: _sleeps(marker) == 3, timeout=30)  # held's own sleep and its daemon's two
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert engine.run("runs", env=env).returncode == 0  # recovers the run
    assert str(engine.last_run().status) == "crashed"
    assert engine.statuses(run_id) == {
        "exits": "succeeded", "times_out": "failed", "canceled": "canceled", "held": "abandoned",
    }  # fmt: skip
    wait_for(lambda: not live_processes_with(marker), timeout=15)
    assert_ledger_intact(engine.ledger_path)
    outputs = list(Path(tempfile.gettempdir()).glob(f"engine-{run_id}-*"))
    assert files_containing(secret, [tmp_path, *outputs]) == []


def _sleeps(marker: str) -> int:
    return sum(p.info["cmdline"][0] == "sleep" for p in live_processes_with(marker))
