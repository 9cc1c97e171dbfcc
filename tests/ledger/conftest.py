"""Fixtures: real ledger files in tmp_path, populated through the real writer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.ledger.reader import LedgerReader
from engine.ledger.writer import LedgerWriter
from engine.states import AttemptStatus, ErrorCode, EventType, RunStatus, StepStatus
from tests.ledger_factory import OWNER, T0

RELEASE_STEPS = ["snapshot", "test", "merge"]


def _step_ok(
    w: LedgerWriter, run_id: str, step_id: str, at: float, seconds: float, attempt: int = 1
) -> float:
    w.step_ready(run_id=run_id, step_id=step_id, at=at)
    w.attempt_started(
        run_id=run_id,
        step_id=step_id,
        attempt=attempt,
        at=at,
        pid=1000 + attempt,
        log_path=f"logs/{run_id}/{step_id}.{attempt}.log",
        retry_reason=None if attempt == 1 else "exit_nonzero",
        delay_sec=None if attempt == 1 else 1.5,
    )
    end = at + seconds
    w.attempt_finished(
        run_id=run_id,
        step_id=step_id,
        attempt=attempt,
        at=end,
        status=AttemptStatus.SUCCEEDED,
        error_code=None,
        exit_code=0,
        signal=None,
        output_tail="ok\n",
        message=None,
    )
    w.step_status(
        run_id=run_id,
        step_id=step_id,
        status=StepStatus.SUCCEEDED,
        at=end,
        event=EventType.STEP_SUCCEEDED,
        reason=None,
    )
    return end


def _create(w: LedgerWriter, run_id: str, plan: str, steps: list[str], at: float) -> None:
    w.create_run(
        run_id=run_id,
        plan_hash=f"hash-{plan}",
        plan_name=plan,
        plan_version="1",
        plan_json=json.dumps({"name": plan}),
        plan_path=f"plans/{plan}.json",
        vars={"BRANCH": "main"},
        step_ids=steps,
        hook_ids=["notify"],
        owner=OWNER,
        resumed_from=None,
        created_at=at,
    )
    w.run_started(run_id=run_id, at=at)


async def populate(path: Path) -> None:
    """Write four release runs and one nightly run covering every status the reader reports."""
    async with await LedgerWriter.open(path) as w:
        # r1: succeeded, 3 steps of 1, 2 and 3 s.
        _create(w, "r1aaaaaaaaaaa", "release", RELEASE_STEPS, T0)
        t = T0
        for i, step in enumerate(RELEASE_STEPS, start=1):
            t = _step_ok(w, "r1aaaaaaaaaaa", step, t, float(i))
        w.record_outputs(
            run_id="r1aaaaaaaaaaa", step_id="snapshot", attempt=1, outputs={"sha": "abc123"}
        )
        w.run_finished(
            run_id="r1aaaaaaaaaaa", status=RunStatus.SUCCEEDED, at=t, error=None, exit_code=0
        )

        # r2: test fails once (retried), then fails for good: the run fails.
        _create(w, "r2bbbbbbbbbbb", "release", RELEASE_STEPS, T0 + 100)
        t = _step_ok(w, "r2bbbbbbbbbbb", "snapshot", T0 + 100, 2.0)
        for attempt in (1, 2):
            w.attempt_started(
                run_id="r2bbbbbbbbbbb",
                step_id="test",
                attempt=attempt,
                at=t,
                pid=2000 + attempt,
                log_path=None,
                retry_reason=None if attempt == 1 else "exit code 1",
                delay_sec=None if attempt == 1 else 1.0,
            )
            t += 1
            w.attempt_finished(
                run_id="r2bbbbbbbbbbb",
                step_id="test",
                attempt=attempt,
                at=t,
                status=AttemptStatus.FAILED,
                error_code=ErrorCode.EXIT_NONZERO,
                exit_code=1,
                signal=None,
                output_tail="boom\n",
                message="exit code 1",
            )
            if attempt == 1:
                w.step_status(
                    run_id="r2bbbbbbbbbbb",
                    step_id="test",
                    status=StepStatus.RETRYING,
                    at=t,
                    event=EventType.STEP_RETRY,
                    reason="exit code 1",
                    data={"delay_ms": 1000, "next_attempt": 2},
                )
        w.step_status(
            run_id="r2bbbbbbbbbbb",
            step_id="test",
            status=StepStatus.FAILED,
            at=t,
            event=EventType.STEP_FAILED,
            reason="exit code 1",
        )
        w.step_status(
            run_id="r2bbbbbbbbbbb",
            step_id="merge",
            status=StepStatus.SKIPPED,
            at=t,
            event=EventType.STEP_SKIPPED,
            reason="dependency test failed",
        )
        w.run_finished(
            run_id="r2bbbbbbbbbbb",
            status=RunStatus.FAILED,
            at=t,
            error="step test failed",
            exit_code=1,
        )

        # r3: canceled during test.
        _create(w, "r3ccccccccccc", "release", RELEASE_STEPS, T0 + 200)
        t = _step_ok(w, "r3ccccccccccc", "snapshot", T0 + 200, 4.0)
        w.run_finished(
            run_id="r3ccccccccccc", status=RunStatus.CANCELED, at=t, error=None, exit_code=130
        )

        # n1: a nightly run still running, with two steps in flight.
        _create(w, "n1ddddddddddd", "nightly", ["vacuum", "backup", "report"], T0 + 300)
        for step in ("vacuum", "backup"):
            w.attempt_started(
                run_id="n1ddddddddddd",
                step_id=step,
                attempt=1,
                at=T0 + 301,
                pid=3000,
                log_path=None,
                retry_reason=None,
                delay_sec=None,
            )

        # r4: a second succeeded release, resumed from r2, reusing snapshot.
        w.create_run(
            run_id="r4eeeeeeeeeee",
            plan_hash="hash-release",
            plan_name="release",
            plan_version="1",
            plan_json='{"name": "release"}',
            plan_path="plans/release.json",
            vars={"BRANCH": "main"},
            step_ids=RELEASE_STEPS,
            hook_ids=[],
            owner=OWNER,
            resumed_from="r2bbbbbbbbbbb",
            created_at=T0 + 400,
        )
        w.run_started(run_id="r4eeeeeeeeeee", at=T0 + 400)
        w.step_status(
            run_id="r4eeeeeeeeeee",
            step_id="snapshot",
            status=StepStatus.REUSED,
            at=T0 + 400,
            event=EventType.STEP_REUSED,
            reason="succeeded in r2bbbbbbbbbbb",
        )
        t = _step_ok(w, "r4eeeeeeeeeee", "test", T0 + 400, 5.0)
        t = _step_ok(w, "r4eeeeeeeeeee", "merge", t, 6.0)
        w.run_finished(
            run_id="r4eeeeeeeeeee", status=RunStatus.SUCCEEDED, at=t, error=None, exit_code=0
        )


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    return tmp_path / ".ledger" / "framework.db"


@pytest.fixture
def populated(ledger_path: Path) -> Path:
    ledger_path.parent.mkdir(parents=True, exist_ok=True)
    asyncio.run(populate(ledger_path))
    return ledger_path


@pytest.fixture
def reader(populated: Path) -> Iterator[LedgerReader]:
    with LedgerReader.open(populated) as opened:
        yield opened
