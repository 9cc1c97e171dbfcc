"""The read API answers questions about a ledger populated through the writer."""

from __future__ import annotations

import json

import pytest

from engine.errors import UserError
from engine.ledger.reader import LedgerReader
from engine.states import AttemptStatus, EventType, ExitCode, RunStatus, StepStatus
from tests.ledger_factory import OWNER, T0


def test_list_runs_newest_first_with_progress(reader: LedgerReader) -> None:
    runs = reader.list_runs()
    assert [r.id for r in runs] == [
        "r4eeeeeeeeeee",
        "n1ddddddddddd",
        "r3ccccccccccc",
        "r2bbbbbbbbbbb",
        "r1aaaaaaaaaaa",
    ]
    by_id = {r.id: r for r in runs}
    r1 = by_id["r1aaaaaaaaaaa"]
    assert (r1.status, r1.steps_total, r1.steps_done, r1.steps_failed) == (
        RunStatus.SUCCEEDED,
        3,
        3,
        0,
    )
    assert r1.duration_ms == 6000 and r1.created_at == T0 and r1.exit_code == 0
    r2 = by_id["r2bbbbbbbbbbb"]
    assert (r2.steps_done, r2.steps_failed, r2.error) == (3, 1, "step test failed")
    n1 = by_id["n1ddddddddddd"]
    assert n1.running_step_ids == ("backup", "vacuum") and n1.finished_at is None
    assert by_id["r4eeeeeeeeeee"].resumed_from == "r2bbbbbbbbbbb"


def test_list_runs_filters_and_keyset_paging(reader: LedgerReader) -> None:
    assert [r.id for r in reader.list_runs(status=RunStatus.SUCCEEDED)] == [
        "r4eeeeeeeeeee",
        "r1aaaaaaaaaaa",
    ]
    assert [r.id for r in reader.list_runs(plan="nightly")] == ["n1ddddddddddd"]
    assert [r.id for r in reader.list_runs(since=T0 + 250)] == ["r4eeeeeeeeeee", "n1ddddddddddd"]
    first = reader.list_runs(limit=2)
    second = reader.list_runs(limit=2, before_id=first[-1].id)
    third = reader.list_runs(limit=2, before_id=second[-1].id)
    ids = [r.id for r in first + second + third]
    assert ids == [r.id for r in reader.list_runs()]
    assert reader.list_runs(plan="release", limit=1, before_id="r3ccccccccccc")[0].id == (
        "r2bbbbbbbbbbb"
    )


def test_active_runs_and_get_run(reader: LedgerReader) -> None:
    assert [r.id for r in reader.active_runs()] == ["n1ddddddddddd"]
    detail = reader.get_run("r1aaaaaaaaaaa")
    assert detail is not None
    assert detail.owner == OWNER
    assert detail.vars == {"BRANCH": "main"}
    assert (detail.plan_hash, detail.plan_version, detail.plan_path) == (
        "hash-release",
        "1",
        "plans/release.json",
    )
    steps = [{"id": "snapshot"}, {"id": "test"}, {"id": "merge"}]
    assert json.loads(detail.plan_json) == {"name": "release", "steps": steps}
    assert detail.status is RunStatus.SUCCEEDED
    assert reader.get_run("nope") is None


def test_run_steps_in_plan_order_with_hooks_last(reader: LedgerReader) -> None:
    steps = reader.run_steps("r2bbbbbbbbbbb")
    assert [(s.step_id, s.status, s.attempts, s.is_hook) for s in steps] == [
        ("snapshot", StepStatus.SUCCEEDED, 1, False),
        ("test", StepStatus.FAILED, 2, False),
        ("merge", StepStatus.SKIPPED, 0, False),
        ("notify", StepStatus.PENDING, 0, True),
    ]
    assert steps[1].duration_ms == 2000 and steps[1].reason == "exit code 1"


def test_attempts(reader: LedgerReader) -> None:
    attempts = reader.attempts("r2bbbbbbbbbbb", "test")
    assert [(a.attempt, a.status, a.error_code, a.exit_code) for a in attempts] == [
        (1, AttemptStatus.FAILED, "exit_nonzero", 1),
        (2, AttemptStatus.FAILED, "exit_nonzero", 1),
    ]
    assert attempts[1].retry_reason == "exit code 1" and attempts[1].delay_ms == 1000
    assert attempts[0].duration_ms == 1000 and attempts[0].output_tail == "boom\n"
    assert len(reader.attempts("r2bbbbbbbbbbb")) == 3


def test_events_filters_and_paging_both_ways(reader: LedgerReader) -> None:
    run_events = reader.events(run_id="r1aaaaaaaaaaa", limit=1000)
    types = [e.type for e in run_events]
    assert types[:2] == [EventType.RUN_CREATED, EventType.RUN_STARTED]
    assert types[-1] == EventType.RUN_COMPLETED
    assert [e.id for e in run_events] == sorted(e.id for e in run_events)
    assert run_events[-1].data == {"status": "succeeded", "exit_code": 0, "error": None}

    latest = reader.events(limit=3)
    assert [e.type for e in latest][-1] == EventType.RUN_COMPLETED
    older = reader.events(limit=3, before_id=latest[0].id)
    assert older[-1].id < latest[0].id and len(older) == 3
    after = reader.events(after_id=older[0].id, limit=5)
    assert [e.id for e in after] == [e.id for e in older[1:] + latest]

    started = reader.events(run_id="r2bbbbbbbbbbb", types=[EventType.STEP_STARTED])
    assert [(e.step_id, e.attempt) for e in started] == [("snapshot", 1), ("test", 1), ("test", 2)]
    retry = reader.events(run_id="r2bbbbbbbbbbb", step_id="test", types=["step_retry"])
    assert retry[0].data == {
        "delay_ms": 1000,
        "next_attempt": 2,
        "status": "retrying",
        "reason": "exit code 1",
    }
    assert {e.run_id for e in reader.events(types=[EventType.RUN_CANCELED])} == {"r3ccccccccccc"}
    with pytest.raises(ValueError):
        reader.events(step_id="test")


def test_outputs(reader: LedgerReader) -> None:
    [output] = reader.outputs("r1aaaaaaaaaaa")
    assert (output.step_id, output.attempt, output.name, output.value) == (
        "snapshot",
        1,
        "sha",
        "abc123",
    )


def test_stats(reader: LedgerReader) -> None:
    stats = reader.stats(T0 - 1, until=T0 + 1000, buckets=10)
    assert stats.runs_by_status == {
        RunStatus.SUCCEEDED: 2,
        RunStatus.FAILED: 1,
        RunStatus.CANCELED: 1,
        RunStatus.RUNNING: 1,
    }
    assert stats.runs_total == 5
    assert stats.success_rate == pytest.approx(0.5)
    [nightly_or_release] = [p for p in stats.plans if p.plan_name == "release"]
    # One of the four failed; the canceled one is not a failure (nor would a partial one be).
    assert nightly_or_release.runs == 4 and nightly_or_release.failure_rate == pytest.approx(0.25)
    assert (nightly_or_release.p50_ms, nightly_or_release.p95_ms) == (6000, 11000)
    steps = {(s.plan_name, s.step_id): s for s in stats.steps}
    test_step = steps[("release", "test")]
    assert test_step.runs == 3
    assert test_step.failure_rate == pytest.approx(1 / 3)
    assert test_step.retry_rate == pytest.approx(1 / 3)
    assert (test_step.p50_ms, test_step.p95_ms) == (2000, 5000)
    assert stats.flakiest_steps[0].step_id == "test"
    assert stats.slowest_steps[0].step_id == "merge"
    assert len(stats.attempts_per_bucket) == 10
    assert sum(stats.attempts_per_bucket) == 11
    assert stats.attempts_per_bucket[:2] == (3, 3)  # r1's three attempts, then r2's three


def test_resolve_run_id_like_git(reader: LedgerReader) -> None:
    assert reader.resolve_run_id("r1") == "r1aaaaaaaaaaa"
    assert reader.resolve_run_id("R1AAAAAAAAAAA") == "r1aaaaaaaaaaa"
    assert reader.resolve_run_id("n1ddddddddddd") == "n1ddddddddddd"
    with pytest.raises(UserError, match="ambiguous: r1aaaaaaaaaaa, r2bbbbbbbbbbb") as ambiguous:
        reader.resolve_run_id("r")
    assert ambiguous.value.exit_code == ExitCode.USAGE
    with pytest.raises(UserError, match="No run id starts with 'zz'"):
        reader.resolve_run_id("zz")


def test_data_version_changes_when_another_connection_commits(populated, reader) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    from engine.ledger.writer import LedgerWriter

    before = reader.data_version()
    assert reader.data_version() == before

    async def write() -> None:
        async with await LedgerWriter.open(populated) as w:
            w.event(run_id="n1ddddddddddd", type=EventType.HOOKS_STARTED, at=T0 + 500)

    asyncio.run(write())
    assert reader.data_version() != before


def test_snapshot_is_consistent(reader: LedgerReader) -> None:
    with reader.snapshot():
        assert reader.list_runs(limit=1)[0].id == "r4eeeeeeeeeee"
        assert reader.events(limit=1)[0].type == EventType.RUN_COMPLETED
