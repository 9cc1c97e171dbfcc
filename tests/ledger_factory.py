"""The one way tests write a ledger by hand: runs, steps and attempts through the real LedgerWriter.

A fixed clock (`T0`) and engine owner (`OWNER`), and a `LedgerFactory` whose calls read like what
happened ("create a run, start a step, finish it failed, skip the next"). The ledger, CLI and
dashboard tests each build their scenes with it; what they need differently (an owner on another
host, real log files, no pids) is a parameter, not another builder.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.ledger.owner import Owner
from engine.ledger.writer import LedgerWriter
from engine.states import AttemptStatus, ErrorCode, EventType, RunStatus, StepStatus

T0 = 1_795_000_000.0  # 2026-11-18T07:46:40Z
OWNER = Owner(pid=4242, process_start_time=T0 - 5, host="testhost", boot_id="boot-1")
# An owner on another host is never declared gone, so reconciliation leaves its runs alone.
ELSEWHERE = Owner(pid=4242, process_start_time=1.0, host="elsewhere", boot_id=None)

_UNSET: Any = object()


def chain_plan(name: str, steps: Sequence[str]) -> dict[str, Any]:
    """A runnable plan document: `steps` one after another, each `true`."""
    chain = [
        {"id": s, "command": "true", "depends_on": list(steps[:i][-1:])}
        for i, s in enumerate(steps)
    ]
    return {"name": name, "vars": {"BRANCH": "main"}, "steps": chain}


@dataclass
class LedgerFactory:
    """Writes scenes into a ledger through `writer`, with fixed, readable defaults.

    `logs`: where attempt logs are written as real files (None: attempts record no log path).
    `pids`: an attempt's pid is `pids + attempt` (None: no pid is recorded).
    `measured`: finished attempts record CPU time and peak memory (250 ms x attempt user, 50 ms
    system, 20 MiB x attempt), as the engine does from wait4; else those stay NULL.
    """

    writer: LedgerWriter
    owner: Owner = OWNER
    logs: Path | None = None
    pids: int | None = 1000
    measured: bool = False

    def create(
        self,
        run_id: str,
        plan: str,
        steps: Sequence[str],
        at: float,
        *,
        document: dict[str, Any] | None = None,
        hooks: Sequence[str] = (),
        plan_path: str | None = _UNSET,
        resumed_from: str | None = None,
    ) -> None:
        """A run of `plan` with `steps`, created and started at `at`."""
        if document is None:
            document = {"name": plan, "steps": [{"id": s} for s in steps]}
        self.writer.create_run(
            run_id=run_id,
            plan_hash=f"hash-{plan}",
            plan_name=plan,
            plan_version="1",
            plan_json=json.dumps(document),
            plan_path=f"plans/{plan}.json" if plan_path is _UNSET else plan_path,
            vars={"BRANCH": "main"},
            step_ids=list(steps),
            hook_ids=list(hooks),
            owner=self.owner,
            resumed_from=resumed_from,
            created_at=at,
        )
        self.writer.run_started(run_id=run_id, at=at)

    def start(
        self,
        run_id: str,
        step: str,
        at: float,
        *,
        attempt: int = 1,
        text: str = "",
        pid: int | None = _UNSET,
        ready: bool = True,
        retry_reason: str = "exit code 1",
        delay_sec: float = 1.0,
    ) -> None:
        """Attempt `attempt` of `step` starts at `at` (its log holds `text`, if logs are kept)."""
        if ready:
            self.writer.step_ready(run_id=run_id, step_id=step, at=at)
        if pid is _UNSET:
            pid = None if self.pids is None else self.pids + attempt
        self.writer.attempt_started(
            run_id=run_id,
            step_id=step,
            attempt=attempt,
            at=at,
            pid=pid,
            log_path=self._log(run_id, step, attempt, text or f"{step} attempt {attempt}\n"),
            retry_reason=None if attempt == 1 else retry_reason,
            delay_sec=None if attempt == 1 else delay_sec,
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
        tail: str | None = None,
        retry_data: dict[str, Any] | None = None,
    ) -> None:
        """Attempt `attempt` of `step` ends at `at`: succeeded, or failed (retried unless final)."""
        self.writer.attempt_finished(
            run_id=run_id,
            step_id=step,
            attempt=attempt,
            at=at,
            status=AttemptStatus.SUCCEEDED if ok else AttemptStatus.FAILED,
            error_code=None if ok else ErrorCode.EXIT_NONZERO,
            exit_code=0 if ok else 1,
            signal=None,
            output_tail=tail if tail is not None else "ok\n" if ok else "boom\n",
            message=None if ok else "exit code 1",
            cpu_user_ms=250 * attempt if self.measured else None,
            cpu_sys_ms=50 if self.measured else None,
            max_rss_kb=20_480 * attempt if self.measured else None,
        )
        if ok:
            status, event = StepStatus.SUCCEEDED, EventType.STEP_SUCCEEDED
        elif final:
            status, event = StepStatus.FAILED, EventType.STEP_FAILED
        else:
            status, event = StepStatus.RETRYING, EventType.STEP_RETRY
        self.writer.step_status(
            run_id=run_id,
            step_id=step,
            status=status,
            at=at,
            event=event,
            reason=None if ok else "exit code 1",
            data=None if ok or final else retry_data,
        )

    def attempt(
        self,
        run_id: str,
        step: str,
        at: float,
        seconds: float,
        *,
        delay_sec: float = 1.0,
        **finish: Any,
    ) -> float:
        """One whole attempt of `step` from `at`, `seconds` long; returns when it ended."""
        self.start(run_id, step, at, attempt=finish.get("attempt", 1), delay_sec=delay_sec)
        end = at + seconds
        self.finish(run_id, step, end, **finish)
        return end

    def skip(self, run_id: str, step: str, at: float, reason: str) -> None:
        self.writer.step_status(
            run_id=run_id,
            step_id=step,
            status=StepStatus.SKIPPED,
            at=at,
            event=EventType.STEP_SKIPPED,
            reason=reason,
        )

    def reuse(self, run_id: str, step: str, at: float, source_run: str) -> None:
        self.writer.step_status(
            run_id=run_id,
            step_id=step,
            status=StepStatus.REUSED,
            at=at,
            event=EventType.STEP_REUSED,
            reason=f"succeeded in {source_run}",
        )

    def end(
        self,
        run_id: str,
        status: RunStatus,
        at: float,
        *,
        error: str | None = None,
        exit_code: int | None = None,
    ) -> None:
        """The run ends with `status` (exit code 0 when it succeeded, else 1, unless given)."""
        if exit_code is None:
            exit_code = 0 if status is RunStatus.SUCCEEDED else 1
        self.writer.run_finished(
            run_id=run_id, status=status, at=at, error=error, exit_code=exit_code
        )

    def _log(self, run_id: str, step: str, attempt: int, text: str) -> str | None:
        if self.logs is None:
            return None
        path = self.logs / run_id / f"{step}.{attempt}.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return str(path)
