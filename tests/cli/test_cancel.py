"""`engine cancel RUN_ID [--step ID]` from another process stops a live `engine run`."""

from __future__ import annotations

import json
from pathlib import Path

from engine.ledger.reader import LedgerReader
from engine.states import RunStatus, StepStatus
from tests.cli.cli_helpers import (
    FAILED,
    LIVE,
    cli,
    engine,
    latest_run_id,
    start_engine,
    step_status,
    write_plan,
)
from tests.support import wait_for


def test_cancel_a_whole_run_hooks_still_run(ledger: Path, tmp_path: Path) -> None:
    marker = tmp_path / "cleanup-ran"
    plan = write_plan(
        tmp_path,
        "long",
        [{"id": "wait", "command": "sleep", "args": ["120"]},
         {"id": "after", "command": "true", "depends_on": ["wait"]}],
        on_exit=[{"id": "cleanup", "command": "touch", "args": [str(marker)]}],
        globals={"kill_grace_sec": 1},
    )  # fmt: skip
    run = start_engine(ledger, "run", str(plan), "-q")
    run_id = wait_for(lambda: latest_run_id(ledger))
    wait_for(lambda: step_status(ledger, run_id, "wait") is StepStatus.RUNNING)
    result = engine(ledger, "cancel", run_id[:10], "--wait", "45", "--json", timeout=90)
    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert document["run_id"] == run_id and document["step_id"] is None
    assert document["status"] == "canceled" and document["request_id"] >= 1
    assert run.wait(timeout=60) == 1
    assert marker.exists()
    with LedgerReader.open(ledger) as reader:
        steps = {s.step_id: s.status for s in reader.run_steps(run_id)}
        types = [e.type for e in reader.events(run_id=run_id)]
    assert steps == {"wait": StepStatus.CANCELED, "after": StepStatus.SKIPPED,
                     "cleanup": StepStatus.SUCCEEDED}  # fmt: skip
    assert "cancel_requested" in types and types[-1] == "run_canceled"


def test_cancel_one_step_the_rest_goes_on(ledger: Path, tmp_path: Path) -> None:
    plan = write_plan(
        tmp_path,
        "branches",
        [{"id": "stuck", "command": "sleep", "args": ["120"], "on_failure": "skip_dependents"},
         {"id": "after_stuck", "command": "true", "depends_on": ["stuck"]},
         {"id": "other", "command": "sleep", "args": ["0.5"]},
         {"id": "after_other", "command": "true", "depends_on": ["other"]}],
        globals={"kill_grace_sec": 1},
    )  # fmt: skip
    run = start_engine(ledger, "run", str(plan), "-q")
    run_id = wait_for(lambda: latest_run_id(ledger))
    wait_for(lambda: step_status(ledger, run_id, "stuck") is StepStatus.RUNNING)
    result = engine(ledger, "cancel", run_id, "--step", "stuck", "--wait", "45", timeout=90)
    assert result.code == 0, result.err
    assert f"step stuck of run {run_id} is canceled" in result.err
    assert run.wait(timeout=60) == 1
    with LedgerReader.open(ledger) as reader:
        run_row = reader.get_run(run_id)
        steps = {s.step_id: s.status for s in reader.run_steps(run_id)}
    assert run_row is not None and run_row.status is RunStatus.PARTIAL
    assert steps == {
        "stuck": StepStatus.CANCELED,
        "after_stuck": StepStatus.SKIPPED,
        "other": StepStatus.SUCCEEDED,
        "after_other": StepStatus.SUCCEEDED,
    }


def test_cancel_a_finished_run_exits_1(history: Path) -> None:
    result = cli(history, "cancel", FAILED)
    assert result.code == 1 and "already finished (failed)" in result.err


def test_cancel_a_step_of_a_finished_run_exits_2_naming_the_step(history: Path) -> None:
    result = cli(history, "cancel", FAILED, "--step", "build")  # build succeeded, the run failed
    assert result.code == 2 and result.err.strip().count("\n") == 0
    assert "Step build of run 1fail00000000 already finished (succeeded)" in result.err
    result = cli(history, "cancel", FAILED, "--step", "nope")
    assert result.code == 2 and "has no step 'nope'" in result.err


def test_cancel_unknown_run_or_step_exits_2(history: Path) -> None:
    assert cli(history, "cancel", "zzzz").code == 2
    result = cli(history, "cancel", "1live", "--step", "nope")
    assert result.code == 2 and "has no step 'nope'" in result.err


def test_cancel_a_finished_step_of_a_live_run_exits_2_and_writes_nothing(history: Path) -> None:
    result = cli(history, "cancel", LIVE, "--step", "backup")  # backup succeeded, report pending
    assert result.code == 2
    assert result.err.strip().count("\n") == 0  # one sentence, no traceback
    assert "already finished (succeeded); only a pending or running step" in result.err
    with LedgerReader.open(history) as reader:
        types = [e.type for e in reader.events(run_id=LIVE)]
    assert "cancel_requested" not in types
