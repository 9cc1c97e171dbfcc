"""Helpers for CLI tests: run `engine` in-process or as a real process, write plans, wait."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.cli.app import main
from engine.errors import LedgerError
from engine.ledger.owner import Owner
from engine.ledger.reader import LedgerReader
from engine.ledger.writer import LedgerWriter
from engine.states import AttemptStatus, ErrorCode, EventType, RunStatus, StepStatus

ENGINE = [sys.executable, "-m", "engine"]
# An owner on another host is never declared gone, so reconciliation leaves these runs alone.
ELSEWHERE = Owner(pid=4242, process_start_time=1.0, host="elsewhere", boot_id=None)
DAY = 86400.0

# Run ids of populate_history, newest first.
LIVE, FAILED, SUCCEEDED, OLD_CANCELED, OLD_SUCCEEDED = (
    "1live00000000",
    "1fail00000000",
    "1good00000000",
    "0canc00000000",
    "0good00000000",
)


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def cli(ledger: Path, *args: str) -> Result:
    """Run `engine ARGS --ledger LEDGER` in this process (fast); capture exit code and output."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main([*args, "--ledger", str(ledger)])
        except SystemExit as exit_:
            code = int(exit_.code or 0)
    return Result(code, out.getvalue(), err.getvalue())


def engine(ledger: Path, *args: str, timeout: float = 60, cwd: Path | None = None) -> Result:
    """Run `engine ARGS` as a real process with LEDGER_DB set; wait for it."""
    proc = subprocess.run(
        [*ENGINE, *args], env=engine_env(ledger), cwd=cwd or ledger.parent.parent,
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    return Result(proc.returncode, proc.stdout, proc.stderr)


def start_engine(ledger: Path, *args: str) -> subprocess.Popen[str]:
    """Start `engine ARGS` as a real process in the background."""
    return subprocess.Popen(
        [*ENGINE, *args], env=engine_env(ledger), cwd=ledger.parent.parent,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def engine_env(ledger: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "FORCE_COLOR")}
    env["LEDGER_DB"] = str(ledger)
    return env


def write_plan(directory: Path, name: str, steps: list[dict[str, Any]], **extra: Any) -> Path:
    path = directory / f"{name}.json"
    path.write_text(json.dumps({"name": name, "steps": steps, **extra}), encoding="utf-8")
    return path


def latest_run_id(ledger: Path) -> str | None:
    try:
        with LedgerReader.open(ledger) as reader:
            runs = reader.list_runs(limit=1)
    except LedgerError:  # not there yet, or being created right now
        return None
    return runs[0].id if runs else None


def step_status(ledger: Path, run_id: str, step_id: str) -> StepStatus | None:
    with LedgerReader.open(ledger) as reader:
        for step in reader.run_steps(run_id):
            if step.step_id == step_id:
                return step.status
    return None


def create_run(w: LedgerWriter, run_id: str, plan: str, steps: list[str], at: float) -> None:
    chain = [
        {"id": s, "command": "true", "depends_on": steps[:i][-1:]} for i, s in enumerate(steps)
    ]
    document = {"name": plan, "vars": {"BRANCH": "main"}, "steps": chain}
    w.create_run(
        run_id=run_id, plan_hash=f"hash-{plan}", plan_name=plan, plan_version="1",
        plan_json=json.dumps(document),
        plan_path=None, vars={"BRANCH": "main"}, step_ids=steps, hook_ids=[], owner=ELSEWHERE,
        resumed_from=None, created_at=at,
    )  # fmt: skip
    w.run_started(run_id=run_id, at=at)


def record_attempt(
    w: LedgerWriter, run_id: str, step: str, at: float, seconds: float, *,
    attempt: int = 1, ok: bool = True, final: bool = True,
) -> float:  # fmt: skip
    w.step_ready(run_id=run_id, step_id=step, at=at)
    w.attempt_started(
        run_id=run_id, step_id=step, attempt=attempt, at=at, pid=None, log_path=None,
        retry_reason=None if attempt == 1 else "exit code 1", delay_sec=None,
    )  # fmt: skip
    end = at + seconds
    w.attempt_finished(
        run_id=run_id, step_id=step, attempt=attempt, at=end,
        status=AttemptStatus.SUCCEEDED if ok else AttemptStatus.FAILED,
        error_code=None if ok else ErrorCode.EXIT_NONZERO, exit_code=0 if ok else 1,
        signal=None, output_tail="out\n", message=None if ok else "exit code 1",
    )  # fmt: skip
    if ok:
        status, event = StepStatus.SUCCEEDED, EventType.STEP_SUCCEEDED
    elif final:
        status, event = StepStatus.FAILED, EventType.STEP_FAILED
    else:
        status, event = StepStatus.RETRYING, EventType.STEP_RETRY
    reason = None if ok else "exit code 1"
    data = (
        {"attempt": attempt, "next_attempt": attempt + 1, "delay_sec": 0.5} if not final else None
    )
    w.step_status(
        run_id=run_id, step_id=step, status=status, at=end, event=event, reason=reason, data=data
    )
    return end


def finish_run(w: LedgerWriter, run_id: str, status: RunStatus, at: float) -> None:
    code = 0 if status is RunStatus.SUCCEEDED else 1
    w.run_finished(run_id=run_id, status=status, at=at, error=None, exit_code=code)


async def populate_history(path: Path, now: float) -> None:
    """Two recent release runs (succeeded, failed after a retry), a live nightly run, and two
    runs older than 30 days (a canceled release and a succeeded nightly)."""
    steps = ["build", "test", "ship"]
    async with await LedgerWriter.open(path) as w:
        create_run(w, OLD_SUCCEEDED, "nightly", ["backup"], now - 40 * DAY)
        finish_run(
            w,
            OLD_SUCCEEDED,
            RunStatus.SUCCEEDED,
            record_attempt(w, OLD_SUCCEEDED, "backup", now - 40 * DAY, 5),
        )
        create_run(w, OLD_CANCELED, "release", steps, now - 35 * DAY)
        finish_run(w, OLD_CANCELED, RunStatus.CANCELED, now - 35 * DAY + 1)

        create_run(w, SUCCEEDED, "release", steps, now - 2 * 3600)
        t = now - 2 * 3600
        for seconds, step in zip((1.0, 2.0, 3.0), steps, strict=True):
            t = record_attempt(w, SUCCEEDED, step, t, seconds)
        w.record_outputs(run_id=SUCCEEDED, step_id="build", attempt=1, outputs={"sha": "abc123"})
        finish_run(w, SUCCEEDED, RunStatus.SUCCEEDED, t)

        create_run(w, FAILED, "release", steps, now - 3600)
        t = record_attempt(w, FAILED, "build", now - 3600, 1.5)
        t = record_attempt(w, FAILED, "test", t, 1, ok=False, final=False)
        t = record_attempt(w, FAILED, "test", t, 1, attempt=2, ok=False)
        w.step_status(
            run_id=FAILED, step_id="ship", status=StepStatus.SKIPPED, at=t,
            event=EventType.STEP_SKIPPED, reason='dependency "test" failed',
        )  # fmt: skip
        w.run_finished(
            run_id=FAILED, status=RunStatus.FAILED, at=t, error='step "test" failed', exit_code=1
        )

        create_run(w, LIVE, "nightly", ["backup", "report"], now - 600)
        record_attempt(w, LIVE, "backup", now - 600, 1)
