"""Ctrl-C of a program blocked in the API on its main thread cancels its runs: `canceled`."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import engine
from engine.errors import LedgerError
from tests.support import wait_for

ROOT = Path(__file__).resolve().parents[2]


def _start(ledger: Path, mode: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "LEDGER_DB"}
    env["PYTHONFAULTHANDLER"] = "1"  # SIGABRT prints every thread's stack: see _stuck
    return subprocess.Popen(
        [sys.executable, "-m", "tests.api.interrupted", str(ledger), mode],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _running_steps(ledger: Path) -> int:
    try:
        with engine.Ledger(ledger) as book:
            return sum(
                1 for run in book.runs(status="running") for s in book.steps(run.id)
                if s.status == "running"
            )  # fmt: skip
    except LedgerError:
        return 0  # not created yet


def _stuck(proc: subprocess.Popen[str], ledger: Path, runs: int) -> None:
    """Fails with what the program was doing when its runs did not all start in time."""
    with engine.Ledger(ledger) as book:
        seen = [
            (r.id, r.status, [(s.step_id, s.status) for s in book.steps(r.id)]) for r in book.runs()
        ]
    if proc.poll() is None:
        proc.send_signal(signal.SIGABRT)
    _, stderr = proc.communicate(timeout=60)
    raise AssertionError(f"{runs} running steps expected; the ledger: {seen}\n{stderr}")


@pytest.mark.parametrize(("mode", "runs"), [("one", 1), ("loop", 2)])
def test_ctrl_c_cancels_the_runs_and_the_program_goes_on(
    ledger: Path, mode: str, runs: int
) -> None:
    proc = _start(ledger, mode)
    try:
        try:
            wait_for(lambda: _running_steps(ledger) == runs, timeout=60)
        except AssertionError:
            _stuck(proc, ledger, runs)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    results = json.loads(stdout)
    canceled = results[:runs]
    assert [r["status"] for r in canceled] == ["canceled"] * runs
    assert all(r["exit_code"] == 130 for r in canceled)
    assert all(r["error"]["code"] == "canceled" for r in canceled)
    with engine.Ledger(ledger) as book:
        assert [book.get_run_status(r["run_id"]) for r in canceled] == ["canceled"] * runs
    if mode == "one":  # a later run in a worker thread is not hit by the earlier Ctrl-C
        assert results[1]["status"] == "succeeded"


def test_ctrl_c_while_the_run_is_set_up_cancels_it_rather_than_stranding_it(ledger: Path) -> None:
    engine.run_plan({"name": "first", "steps": [{"id": "a", "command": "true"}]}, ledger=ledger)
    lock = sqlite3.connect(ledger, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")  # the run's first commit waits for it (busy_timeout 10 s)
    proc = _start(ledger, "setup")
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "created"
        proc.send_signal(signal.SIGINT)
        lock.execute("ROLLBACK")
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        lock.close()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    [result] = json.loads(stdout)
    assert (result["status"], result["exit_code"]) == ("canceled", 130)
    with engine.Ledger(ledger) as book:
        assert book.get_run_status(result["run_id"]) == "canceled"
