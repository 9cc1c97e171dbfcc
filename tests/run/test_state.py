"""How a finished attempt and a finished run are judged, and what conditions see of a step."""

from __future__ import annotations

import signal
from typing import Any

from engine.executors.base import AttemptResult
from engine.plan.model import Step
from engine.run.state import ScheduledStep, judge, judge_run
from engine.states import AttemptStatus, ErrorCode, RunStatus, StepStatus

STEP = Step.model_validate({"id": "s", "command": "true", "success_exit_codes": [0, 3]})


def result(**fields: Any) -> AttemptResult:
    values: dict[str, Any] = {
        "exit_code": 0, "signal": None, "timed_out": False, "canceled": False,
        "spawn_error": None, "pid": 1, "started_at": 0.0, "finished_at": 1.0, "output_tail": "",
    }  # fmt: skip
    values.update(fields)
    return AttemptResult(**values)


def test_verdicts() -> None:
    assert judge(result(), STEP).status is AttemptStatus.SUCCEEDED
    assert judge(result(exit_code=3), STEP).status is AttemptStatus.SUCCEEDED
    failed = judge(result(exit_code=1), STEP)
    assert (failed.status, failed.error, failed.message) == (
        AttemptStatus.FAILED,
        ErrorCode.EXIT_NONZERO,
        "exit code 1",
    )
    spawn = judge(result(exit_code=None, spawn_error="command not found: x"), STEP)
    assert (spawn.error, spawn.message) == (ErrorCode.SPAWN_FAILED, "command not found: x")
    killed = judge(result(exit_code=None, signal=signal.SIGKILL), STEP)
    assert (killed.error, killed.message) == (ErrorCode.SIGNALED, "killed by SIGKILL")


def test_a_step_no_worker_can_run_fails_with_no_worker() -> None:
    sentence = 'no worker of the cluster has the resources step "s" asks for: tpu=1'
    verdict = judge(result(exit_code=None, spawn_error=sentence, no_worker=True), STEP)
    assert (verdict.status, verdict.error, verdict.message) == (
        AttemptStatus.FAILED,
        ErrorCode.NO_WORKER,
        sentence,
    )


def test_a_timeout_wins_over_the_cancel_and_signal_it_caused() -> None:
    verdict = judge(result(exit_code=None, signal=15, timed_out=True, canceled=True), STEP)
    assert verdict.error is ErrorCode.TIMEOUT
    canceled = judge(result(exit_code=None, signal=15, canceled=True), STEP)
    assert (canceled.status, canceled.error) == (AttemptStatus.CANCELED, ErrorCode.CANCELED)


def test_the_view_carries_ok_for_success() -> None:
    run = ScheduledStep(spec=STEP, group="steps", waiting=0)
    run.status, run.ok, run.exit_code = StepStatus.SKIPPED, False, None
    assert run.view() == {"status": "skipped", "exit_code": None, "outputs": {}, "ok": False}


def failed_step(step_id: str, **fields: Any) -> ScheduledStep:
    step = Step.model_validate({"id": step_id, "command": "false", **fields})
    return ScheduledStep(spec=step, group="steps", waiting=0)


def test_run_outcomes() -> None:
    assert judge_run(None, None, []) == (RunStatus.SUCCEEDED, None)
    tolerated = failed_step("t", on_failure="skip_dependents")
    assert judge_run(None, None, [(tolerated, StepStatus.FAILED)]) == (
        RunStatus.PARTIAL,
        'steps failed: "t"',
    )
    critical = failed_step("c", on_failure="continue", critical=True)
    aborting = failed_step("a")  # on_failure defaults to abort
    failed = [(tolerated, StepStatus.FAILED), (critical, StepStatus.FAILED)]
    assert judge_run(None, None, failed) == (RunStatus.FAILED, 'step "c" failed')
    assert judge_run(None, None, [(aborting, StepStatus.FAILED)])[0] is RunStatus.FAILED
    # A canceled abort step does not fail the run by itself: the run is partial.
    assert judge_run(None, None, [(aborting, StepStatus.CANCELED)]) == (
        RunStatus.PARTIAL,
        'steps canceled: "a"',
    )
    # The error names failed and canceled steps apart: a canceled step did not fail.
    assert judge_run(
        None, None, [(tolerated, StepStatus.FAILED), (aborting, StepStatus.CANCELED)]
    ) == (RunStatus.PARTIAL, 'steps failed: "t"; steps canceled: "a"')
    many = [(failed_step(f"s{i}", on_failure="continue"), StepStatus.FAILED) for i in range(7)]
    assert judge_run(None, None, many) == (
        RunStatus.PARTIAL,
        'steps failed: "s0", "s1", "s2", "s3", "s4" and 2 more',
    )
    assert judge_run(None, None, many[:5])[1] == 'steps failed: "s0", "s1", "s2", "s3", "s4"'
    # A stop (Ctrl-C, the run timeout) decides the outcome, whatever failed before it.
    assert judge_run(RunStatus.CANCELED, "interrupted", failed) == (
        RunStatus.CANCELED,
        "interrupted",
    )


def test_a_lost_attempt_is_worker_lost_whatever_else_it_says() -> None:
    lost = judge(result(exit_code=None, canceled=True, lost="its Dask worker was lost"), STEP)
    assert (lost.status, lost.error, lost.message) == (
        AttemptStatus.FAILED,
        ErrorCode.WORKER_LOST,
        "its Dask worker was lost",
    )
