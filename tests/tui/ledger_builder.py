"""A small, deterministic ledger for the dashboard tests, written through the real LedgerWriter."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from engine.ledger.writer import LedgerWriter
from engine.states import AttemptStatus, ErrorCode, EventType, RunStatus, StepStatus
from tests.ledger_factory import OWNER, T0

NOW = T0 + 3600.0  # the frozen clock the app is given
RELEASE = ["setup", "test", "merge"]
ACTIVE_RUN = "1m00activeaaa"
FAILED_RUN = "1m00failedbbb"


@dataclass
class Builder:
    w: LedgerWriter
    logs: Path

    def create(self, run_id: str, plan: str, steps: list[str], at: float) -> None:
        self.w.create_run(
            run_id=run_id,
            plan_hash=f"hash-{plan}",
            plan_name=plan,
            plan_version="1",
            plan_json=json.dumps({"name": plan, "steps": [{"id": s} for s in steps]}),
            plan_path=f"plans/{plan}.json",
            vars={"BRANCH": "main"},
            step_ids=steps,
            hook_ids=[],
            owner=OWNER,
            resumed_from=None,
            created_at=at,
        )
        self.w.run_started(run_id=run_id, at=at)

    def log(self, run_id: str, step: str, attempt: int, text: str) -> str:
        path = self.logs / run_id / f"{step}.{attempt}.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return str(path)

    def start(self, run_id: str, step: str, at: float, attempt: int = 1, text: str = "") -> None:
        self.w.step_ready(run_id=run_id, step_id=step, at=at)
        self.w.attempt_started(
            run_id=run_id,
            step_id=step,
            attempt=attempt,
            at=at,
            pid=1000 + attempt,
            log_path=self.log(run_id, step, attempt, text or f"{step} attempt {attempt}\n"),
            retry_reason=None if attempt == 1 else "exit code 1",
            delay_sec=None if attempt == 1 else 1.0,
        )

    def finish(
        self,
        run_id: str,
        step: str,
        at: float,
        *,
        ok: bool = True,
        attempt: int = 1,
        final: bool = True,
    ) -> None:
        self.w.attempt_finished(
            run_id=run_id,
            step_id=step,
            attempt=attempt,
            at=at,
            status=AttemptStatus.SUCCEEDED if ok else AttemptStatus.FAILED,
            error_code=None if ok else ErrorCode.EXIT_NONZERO,
            exit_code=0 if ok else 1,
            signal=None,
            output_tail="ok\n" if ok else "boom\n",
            message=None if ok else "exit code 1",
        )
        if ok:
            status, event = StepStatus.SUCCEEDED, EventType.STEP_SUCCEEDED
        elif final:
            status, event = StepStatus.FAILED, EventType.STEP_FAILED
        else:
            status, event = StepStatus.RETRYING, EventType.STEP_RETRY
        reason = None if ok else "exit code 1"
        self.w.step_status(
            run_id=run_id, step_id=step, status=status, at=at, event=event, reason=reason
        )

    def ok_run(self, run_id: str, plan: str, at: float, seconds: list[float]) -> float:
        steps = RELEASE if plan == "release" else [f"s{i}" for i in range(len(seconds))]
        self.create(run_id, plan, steps, at)
        t = at
        for step, sec in zip(steps, seconds, strict=True):
            self.start(run_id, step, t)
            t += sec
            self.finish(run_id, step, t)
        self.w.run_finished(
            run_id=run_id, status=RunStatus.SUCCEEDED, at=t, error=None, exit_code=0
        )
        return t


async def build_ledger(path: Path) -> None:
    """Six finished runs over the last hour (succeeded, retried, failed, canceled), one active."""
    async with await LedgerWriter.open(path) as w:
        b = Builder(w, path.parent / "logs")
        b.ok_run("1m00okaaaaaa1", "release", T0, [1.0, 2.0, 3.0])
        b.ok_run("1m00okaaaaaa2", "release", T0 + 600, [1.5, 2.5, 3.5])
        b.ok_run("1m00nightly01", "nightly", T0 + 900, [10.0, 20.0])
        # A retried step that then succeeded.
        b.create("1m00retryccc3", "release", RELEASE, T0 + 1200)
        b.start("1m00retryccc3", "setup", T0 + 1200)
        b.finish("1m00retryccc3", "setup", T0 + 1201)
        b.start("1m00retryccc3", "test", T0 + 1201)
        b.finish("1m00retryccc3", "test", T0 + 1203, ok=False, final=False)
        b.start("1m00retryccc3", "test", T0 + 1204, attempt=2)
        b.finish("1m00retryccc3", "test", T0 + 1206, attempt=2)
        b.start("1m00retryccc3", "merge", T0 + 1206)
        b.finish("1m00retryccc3", "merge", T0 + 1207)
        w.run_finished(
            run_id="1m00retryccc3",
            status=RunStatus.SUCCEEDED,
            at=T0 + 1207,
            error=None,
            exit_code=0,
        )
        # A failed run: test fails, merge is skipped.
        b.create(FAILED_RUN, "release", RELEASE, T0 + 1800)
        b.start(FAILED_RUN, "setup", T0 + 1800)
        b.finish(FAILED_RUN, "setup", T0 + 1801)
        b.start(FAILED_RUN, "test", T0 + 1801, text="running tests\nFAILED test_merge\n")
        b.finish(FAILED_RUN, "test", T0 + 1804, ok=False)
        w.step_status(
            run_id=FAILED_RUN,
            step_id="merge",
            status=StepStatus.SKIPPED,
            at=T0 + 1804,
            event=EventType.STEP_SKIPPED,
            reason="dependency test failed",
        )
        w.run_finished(
            run_id=FAILED_RUN,
            status=RunStatus.FAILED,
            at=T0 + 1804,
            error="step test failed",
            exit_code=1,
        )
        # A canceled run.
        b.create("1m00canceledd", "nightly", ["s0", "s1"], T0 + 2400)
        b.start("1m00canceledd", "s0", T0 + 2400)
        b.finish("1m00canceledd", "s0", T0 + 2402)
        w.run_finished(
            run_id="1m00canceledd",
            status=RunStatus.CANCELED,
            at=T0 + 2403,
            error="canceled by user",
            exit_code=130,
        )
        # The active run: setup done, test running for 3 s with some output.
        b.create(ACTIVE_RUN, "release", RELEASE, NOW - 5)
        b.start(ACTIVE_RUN, "setup", NOW - 5)
        b.finish(ACTIVE_RUN, "setup", NOW - 3)
        lines = "".join(f"test line {i}\n" for i in range(1, 41))
        b.start(ACTIVE_RUN, "test", NOW - 3, text=lines)
