"""`engine.start_plan` and `RunHandle`: the id at once, then wait, cancel a step, follow events."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import engine
from tests.api.conftest import plan
from tests.support import wait_for


def test_start_returns_with_the_run_in_the_ledger_and_wait_gives_the_result(
    ledger: Path,
) -> None:
    handle = engine.start_plan(plan({"id": "a", "command": "sleep 0.2"}), ledger=ledger)
    assert engine.Ledger(ledger).run(handle.run_id).id == handle.run_id
    result = handle.wait(timeout=60)
    assert (result.run_id, result.status) == (handle.run_id, "succeeded")
    assert handle.done() and handle.wait() is result
    assert handle.cancel() is False  # over: nothing to cancel


def test_cancel_one_step_then_wait(ledger: Path) -> None:
    handle = engine.start_plan(
        plan({"id": "slow", "command": "sleep 120"}, {"id": "fast", "command": "true"},
             {"id": "after", "command": "true", "depends_on": ["slow"]}),
        ledger=ledger,
    )  # fmt: skip
    book = engine.Ledger(ledger)
    wait_for(lambda: book.steps(handle.run_id)[0].status == "running", timeout=30)
    assert handle.cancel(step="slow") is True
    result = handle.wait(timeout=60)
    assert result.steps["slow"].status == "canceled"
    assert result.steps["fast"].status == "succeeded"
    assert result.steps["after"].status == "skipped"
    assert result.status == "partial"  # a canceled step fails the run only when it is critical
    assert result.error is not None
    assert (result.error.code, result.error.step_id, result.error.severity) == (
        "canceled", "slow", "warn",
    )  # fmt: skip
    requested = [e for e in book.get_run_events(handle.run_id) if e.type == "cancel_requested"]
    assert [e.step_id for e in requested] == ["slow"]
    assert requested[0].data is not None and "python" in requested[0].data["requested_by"]


def test_wait_with_a_timeout_raises_timeout_error_while_the_run_goes(ledger: Path) -> None:
    handle = engine.start_plan(plan({"id": "wait", "command": "sleep 120"}), ledger=ledger)
    with pytest.raises(TimeoutError):
        handle.wait(timeout=0.05)
    handle.cancel()
    result = handle.wait(timeout=60)
    assert result.status == "canceled"
    assert result.error is not None
    assert (result.error.code, result.error.severity) == ("canceled", "warn")


def test_events_follow_the_run_live_and_match_the_ledger(ledger: Path) -> None:
    gate = threading.Event()
    seen: list[engine.RunEvent] = []
    handle = engine.start_plan(
        plan({"id": "a", "command": "true"}, {"id": "b", "command": "sleep 0.3",
             "depends_on": ["a"]}),
        ledger=ledger,
        on_event=lambda e: gate.set() if e.type == "run_completed" else None,
    )  # fmt: skip
    for event in handle.events(timeout=60):
        seen.append(event)
    assert gate.is_set()
    stored = engine.Ledger(ledger).get_run_events(handle.run_id)
    assert [(e.type, e.step_id) for e in seen] == [(e.type, e.step_id) for e in stored]
    assert [e.type for e in handle.events()] == [e.type for e in seen]  # from the start again


def test_an_invalid_plan_raises_from_start_plan(ledger: Path) -> None:
    with pytest.raises(engine.PlanError):
        engine.start_plan({"name": "x", "steps": []}, ledger=ledger)
    assert not ledger.exists() or engine.Ledger(ledger).runs() == []


def test_cancel_of_a_finished_step_is_false_and_of_an_unknown_step_raises(ledger: Path) -> None:
    handle = engine.start_plan(
        plan({"id": "quick", "command": "true"}, {"id": "slow", "command": "sleep 120"}),
        ledger=ledger,
    )
    book = engine.Ledger(ledger)
    wait_for(lambda: book.steps(handle.run_id)[0].status == "succeeded", timeout=30)
    assert handle.cancel(step="quick") is False
    with pytest.raises(engine.EngineError, match="no step 'nope'"):
        handle.cancel(step="nope")
    assert handle.cancel() is True
    assert handle.wait(timeout=60).status == "canceled"


def test_a_taken_concurrency_group_without_waiting_is_group_busy(ledger: Path) -> None:
    document = plan({"id": "deploy", "command": "sleep 120"}, concurrency_group="prod")
    first = engine.start_plan(document, ledger=ledger)
    wait_for(lambda: engine.Ledger(ledger).steps(first.run_id)[0].status == "running", timeout=30)
    second = engine.run_plan(document, ledger=ledger, wait_for_group=False)
    assert (second.status, second.exit_code) == ("canceled", 75)
    assert second.error is not None
    assert (second.error.code, second.error.recoverable) == ("group_busy", True)
    first.cancel()
    assert first.wait(timeout=60).status == "canceled"
