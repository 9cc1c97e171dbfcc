"""What the run detail's log status line says about an attempt, and the steps progress text."""

from __future__ import annotations

import pytest

from engine.ledger.records import Attempt, RunSummary, StepState
from engine.states import AttemptStatus, RunStatus, StepStatus
from ledger_tui.format import steps_progress
from ledger_tui.log_status import attempt_title, log_state, pick_attempt


def attempt(n: int = 1, status: AttemptStatus = AttemptStatus.FAILED, **fields: object) -> Attempt:
    values: dict[str, object] = {
        "id": n, "run_id": "r", "step_id": "s", "attempt": n, "status": status,
        "error_code": None, "exit_code": None, "signal": None, "started_at": 1.0,
        "finished_at": 2.0, "duration_ms": 1000, "pid": None, "log_path": None,
        "output_tail": None, "retry_reason": None, "delay_ms": None, "message": None,
    }  # fmt: skip
    values.update(fields)
    return Attempt(**values)  # type: ignore[arg-type]


def step(status: StepStatus, reason: str | None = None) -> StepState:
    return StepState("r", "s", 0, False, status, 0, None, None, None, reason)


@pytest.mark.parametrize(
    ("shown", "expected"),
    [
        (attempt(status=AttemptStatus.SUCCEEDED, exit_code=0),
         "finished: succeeded (exit 0) in 1.0s"),
        (attempt(error_code="exit_nonzero", exit_code=3), "failed: exit 3 in 1.0s"),
        (attempt(error_code="timeout", signal=15), "timed out in 1.0s"),
        (attempt(status=AttemptStatus.CANCELED, error_code="canceled", message="by request"),
         "canceled in 1.0s: by request"),
        (attempt(error_code="signaled", signal=9), "failed: killed by SIGKILL in 1.0s"),
        (attempt(error_code="spawn_failed", message="no such command: nope"),
         "failed to start: no such command: nope"),
        (attempt(status=AttemptStatus.ABANDONED, error_code="abandoned"),
         "abandoned: the engine that ran it died"),
        (attempt(status=AttemptStatus.RUNNING, finished_at=None), None),
    ],
)  # fmt: skip
def test_a_finished_attempt_says_how_it_ended(shown: Attempt, expected: str | None) -> None:
    assert log_state(step(StepStatus.RUNNING), shown) == expected


def test_a_canceled_attempt_says_why_its_step_was_canceled_not_canceled_twice() -> None:
    """The engine's attempt message for a cancel is the bare word; the step's reason says why."""
    shown = attempt(status=AttemptStatus.CANCELED, error_code="canceled", message="canceled")
    why = StepState(
        "r", "s", 0, False, StepStatus.CANCELED, 1, None, None, None, "canceled by request"
    )
    assert log_state(why, shown) == "canceled in 1.0s: canceled by request"
    assert log_state(step(StepStatus.CANCELED), shown) == "canceled in 1.0s"


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (step(StepStatus.SKIPPED, "condition was false: x"), "skipped: condition was false: x"),
        (step(StepStatus.CANCELED, "canceled by request"),
         "canceled before it started: canceled by request"),
        (step(StepStatus.PENDING), "not started yet: waiting for its dependencies"),
        (step(StepStatus.READY), "not started yet: waiting for a free slot"),
        (None, "No steps."),
    ],
)  # fmt: skip
def test_a_step_without_attempts_says_why(state: StepState | None, expected: str) -> None:
    assert log_state(state, None) == expected


def test_pick_attempt_and_title() -> None:
    attempts = [attempt(1), attempt(2), attempt(1, step_id="other")]
    assert pick_attempt(attempts, "s", None) == attempts[1]
    assert pick_attempt(attempts, "s", 1) == attempts[0]
    assert pick_attempt(attempts, "s", 7) == attempts[1]  # gone: the latest
    assert pick_attempt(attempts, "nope", None) is None
    assert attempt_title("s", attempts[0], 2) == "s attempt 1 of 2"
    assert attempt_title("s", attempts[0], 1) == "s attempt 1"
    assert attempt_title("s", None, 0) == "s"


def test_steps_progress_says_failed_and_canceled() -> None:
    run = RunSummary(
        id="r", plan_name="p", status=RunStatus.CANCELED, created_at=0.0, started_at=0.0,
        finished_at=1.0, duration_ms=1000, steps_total=40, steps_done=40, steps_failed=1,
        running_step_ids=(), resumed_from=None, error=None, exit_code=130, steps_canceled=27,
    )  # fmt: skip
    assert steps_progress(run) == "40/40 (1 failed, 27 canceled)"


def test_the_title_says_where_a_cluster_ran_the_attempt() -> None:
    remote = attempt(host="gpu-7", worker="tcp://10.0.0.7:40331", placed_at=3.0)
    assert attempt_title("s", remote, 2) == (
        "s attempt 1 of 2 on gpu-7 (tcp://10.0.0.7:40331) after 2.0s queued"
    )
