"""`engine.Ledger`: the read API from Python, run-id prefixes, short names, cancel and resume."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import engine
from tests.api.conftest import plan
from tests.support import wait_for


@pytest.fixture
def finished(ledger: Path) -> engine.RunResult:
    """A failed run: `make` wrote an output, `flaky` failed twice, `after` was skipped."""
    return engine.run_plan(
        plan(
            {"id": "make", "command": 'echo "v=7" >> "$ENGINE_OUTPUT"', "provides": ["v"]},
            {"id": "flaky", "command": "exit 2", "retry": {"max_attempts": 2, "delay_sec": 0},
             "depends_on": ["make"]},
            {"id": "after", "command": "true", "depends_on": ["flaky"]},
            name="ledger-api",
        ),
        ledger=ledger,
    )  # fmt: skip


def test_runs_run_steps_attempts_and_outputs(ledger: Path, finished: engine.RunResult) -> None:
    other = engine.run_plan(plan({"id": "a", "command": "true"}, name="other"), ledger=ledger)
    with engine.Ledger(ledger) as book:
        assert [r.id for r in book.runs()] == [other.run_id, finished.run_id]
        assert [r.id for r in book.runs(status="failed")] == [finished.run_id]
        assert [r.id for r in book.runs(plan="other")] == [other.run_id]
        assert [r.id for r in book.runs(limit=1)] == [other.run_id]
        assert book.runs(since=datetime.now(UTC) + timedelta(hours=1)) == []
        assert len(book.runs(since=timedelta(hours=1))) == 2
        # A prefix, as in the CLI: ids made in the same moment share their first characters.
        shared = next(
            i for i, (a, b) in enumerate(zip(finished.run_id, other.run_id, strict=True)) if a != b
        )
        run = book.run(finished.run_id[: shared + 1])
        assert (run.id, run.status, run.summary.plan_name) == (
            finished.run_id, "failed", "ledger-api",
        )  # fmt: skip
        assert [(s.step_id, s.status) for s in book.steps(finished.run_id)] == [
            ("make", "succeeded"), ("flaky", "failed"), ("after", "skipped"),
        ]  # fmt: skip
        assert [a.attempt for a in book.attempts(finished.run_id, step="flaky")] == [1, 2]
        assert len(book.attempts(finished.run_id)) == 3
        assert book.outputs(finished.run_id) == {"make": {"v": "7"}} == finished.outputs
        stats = book.stats(since=timedelta(hours=1))
        assert stats.runs_total == 2


def test_the_short_names(ledger: Path, finished: engine.RunResult) -> None:
    book = engine.Ledger(ledger)
    assert book.get_run_status(finished.run_id) == "failed"
    assert [s.step_id for s in book.get_run_steps(finished.run_id)] == ["make", "flaky", "after"]
    events = book.get_run_events(finished.run_id)
    assert events[0].type == "run_created" and events[-1].type == "run_completed"
    assert [e.id for e in events] == sorted(e.id for e in events)
    later = list(book.events(finished.run_id, after=events[2].id))
    assert later == events[3:]
    book.close()


def test_unknown_and_ambiguous_run_ids_raise_unknown_run(
    ledger: Path, finished: engine.RunResult
) -> None:
    engine.run_plan(plan({"id": "a", "command": "true"}), ledger=ledger)
    book = engine.Ledger(ledger)
    with pytest.raises(engine.UnknownRun, match="No run id starts with"):
        book.run("zzzzzz")
    with pytest.raises(engine.UnknownRun, match="ambiguous"):
        book.steps("")
    assert issubclass(engine.UnknownRun, engine.EngineError)


def test_a_missing_ledger_raises_ledger_error(tmp_path: Path) -> None:
    with pytest.raises(engine.LedgerError):
        engine.Ledger(tmp_path / "none" / "framework.db").runs()


def test_events_follow_a_live_run_to_its_end_and_cancel_ends_it(ledger: Path) -> None:
    handle = engine.start_plan(plan({"id": "wait", "command": "sleep 120"}), ledger=ledger)
    book = engine.Ledger(ledger)
    followed: list[str] = []

    def follow() -> None:
        followed.extend(e.type for e in book.events(handle.run_id, follow=True))

    follower = threading.Thread(target=follow)
    follower.start()
    wait_for(lambda: "step_started" in followed, timeout=30)
    assert book.cancel(handle.run_id[:10]) > 0
    follower.join(timeout=60)
    assert not follower.is_alive()
    assert followed[-1] == "run_canceled"
    assert handle.wait(timeout=60).status == "canceled"
    with pytest.raises(engine.EngineError, match="already finished"):
        book.cancel(handle.run_id)


def test_resume_reuses_what_succeeded(ledger: Path, finished: engine.RunResult) -> None:
    resumed = engine.Ledger(ledger).resume(finished.run_id)
    assert resumed.status == "failed"  # `flaky` still fails
    assert resumed.steps["make"].status == "reused"
    assert resumed.steps["flaky"].attempts == 2
    assert engine.Ledger(ledger).run(resumed.run_id).summary.resumed_from == finished.run_id


def test_resume_with_an_edited_plan_reruns_what_changed(
    ledger: Path, finished: engine.RunResult, tmp_path: Path
) -> None:
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(plan(
        {"id": "make", "command": 'echo "v=7" >> "$ENGINE_OUTPUT"', "provides": ["v"]},
        {"id": "flaky", "command": "true", "depends_on": ["make"]},
        {"id": "after", "command": "true", "depends_on": ["flaky"]},
        name="ledger-api",
    )))  # fmt: skip
    resumed = engine.Ledger(ledger).resume(finished.run_id, plan=edited)
    assert resumed.status == "succeeded"
    assert {k: s.status for k, s in resumed.steps.items()} == {
        "make": "reused", "flaky": "succeeded", "after": "succeeded",
    }  # fmt: skip
