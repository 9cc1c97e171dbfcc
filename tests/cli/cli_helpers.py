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
from engine.ledger.reader import LedgerReader
from engine.ledger.writer import LedgerWriter
from engine.states import RunStatus, StepStatus
from tests.ledger_factory import ELSEWHERE, LedgerFactory, chain_plan

ENGINE = [sys.executable, "-m", "engine"]
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


def history_factory(w: LedgerWriter) -> LedgerFactory:
    """Runs as another host's engine left them: runnable plans, no pids, no logs."""
    return LedgerFactory(w, owner=ELSEWHERE, pids=None)


def create_run(b: LedgerFactory, run_id: str, plan: str, steps: list[str], at: float) -> None:
    b.create(run_id, plan, steps, at, document=chain_plan(plan, steps), plan_path=None)


async def populate_history(path: Path, now: float) -> None:
    """Two recent release runs (succeeded, failed after a retry), a live nightly run, and two
    runs older than 30 days (a canceled release and a succeeded nightly)."""
    steps = ["build", "test", "ship"]
    retry = {"attempt": 1, "next_attempt": 2, "delay_sec": 0.5}
    async with await LedgerWriter.open(path) as w:
        b = history_factory(w)
        create_run(b, OLD_SUCCEEDED, "nightly", ["backup"], now - 40 * DAY)
        t = b.attempt(OLD_SUCCEEDED, "backup", now - 40 * DAY, 5, tail="out\n")
        b.end(OLD_SUCCEEDED, RunStatus.SUCCEEDED, t)
        create_run(b, OLD_CANCELED, "release", steps, now - 35 * DAY)
        b.end(OLD_CANCELED, RunStatus.CANCELED, now - 35 * DAY + 1)

        create_run(b, SUCCEEDED, "release", steps, now - 2 * 3600)
        t = now - 2 * 3600
        for seconds, step in zip((1.0, 2.0, 3.0), steps, strict=True):
            t = b.attempt(SUCCEEDED, step, t, seconds, tail="out\n")
        w.record_outputs(run_id=SUCCEEDED, step_id="build", attempt=1, outputs={"sha": "abc123"})
        b.end(SUCCEEDED, RunStatus.SUCCEEDED, t)

        create_run(b, FAILED, "release", steps, now - 3600)
        t = b.attempt(FAILED, "build", now - 3600, 1.5, tail="out\n")
        t = b.attempt(FAILED, "test", t, 1, ok=False, final=False, retry_data=retry, tail="out\n")
        t = b.attempt(FAILED, "test", t, 1, attempt=2, ok=False, tail="out\n", delay_sec=0.5)
        b.skip(FAILED, "ship", t, 'dependency "test" failed')
        b.end(FAILED, RunStatus.FAILED, t, error='step "test" failed')

        create_run(b, LIVE, "nightly", ["backup", "report"], now - 600)
        b.attempt(LIVE, "backup", now - 600, 1, tail="out\n")
