"""A run queued for its concurrency group shows as `waiting` (a derived state; the ledger says
`running`), with the run it waits for, in `engine runs` (text and --json) and `engine show`."""

from __future__ import annotations

import json
import subprocess

from tests.e2e.conftest import Engine
from tests.e2e.test_json_shapes import LEDGER_TUI, check
from tests.e2e.test_leases import gate, states
from tests.support import wait_for


def test_engine_runs_and_show_say_waiting_and_for_whom(engine: Engine) -> None:
    go = engine.tmp_path / "go"
    plan = engine.plan([{"id": "deploy", **gate(go)}], concurrency_group="deploy")
    first = engine.start("run", plan)
    wait_for(lambda: states(engine, "group") == ["held"], timeout=30)
    second = engine.start("run", plan)
    wait_for(lambda: states(engine, "group") == ["held", "waiting"], timeout=30)
    waiter, holder = (run.id for run in engine.runs())  # newest first
    try:
        listed = engine.run("runs")
        assert listed.returncode == 0, listed.stderr
        rows = {line.split()[0]: line for line in listed.stdout.splitlines()[1:]}
        assert rows[waiter].split()[2] == "waiting"
        assert f'waiting for run {holder} (concurrency group "deploy")' in rows[waiter]
        assert rows[holder].split()[2] == "running"
        as_json = {run["id"]: run for run in json.loads(engine.run("runs", "--json").stdout)}
        assert as_json[waiter]["status"] == "running"  # the ledger's status is unchanged
        assert as_json[waiter]["waiting"] == {"concurrency_group": "deploy", "waits_for": [holder]}
        assert as_json[holder]["waiting"] is None
        for run in as_json.values():
            check(run, "run")
        shown = engine.run("show", waiter).stdout
        assert f"run       {waiter}  (waiting)" in shown
        shown_json = json.loads(engine.run("show", waiter, "--json").stdout)
        assert shown_json["run"]["waiting"] == {
            "concurrency_group": "deploy",
            "waits_for": [holder],
        }
        check(shown_json["run"], "run_detail")
        status = subprocess.run(
            [LEDGER_TUI, "status"], env=engine.env(), capture_output=True, text=True,
            cwd=engine.tmp_path, timeout=30, check=False,
        )  # fmt: skip
        line = next(line for line in status.stdout.splitlines() if waiter in line)
        assert line.startswith("waiting") and f"waiting for run {holder}" in line
    finally:
        go.touch()
    assert first.wait(timeout=60) == 0 and second.wait(timeout=60) == 0
    after = {run["id"]: run for run in json.loads(engine.run("runs", "--json").stdout)}
    assert after[waiter]["waiting"] is None and after[waiter]["status"] == "succeeded"
