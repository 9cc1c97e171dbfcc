"""Crash recovery with real processes: kill -9 an engine, then any command cleans up after it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from engine.ledger.owner import Owner
from engine.ledger.reader import LedgerReader
from engine.ledger.recovery import reconcile, reconcile_path
from engine.ledger.writer import LedgerWriter
from engine.processes.leftovers import kill_run_processes
from engine.states import AttemptStatus, RunStatus, StepStatus
from tests.support import wait_for

ENGINE = [sys.executable, "-m", "engine"]


def processes_of(run_id: str) -> list[psutil.Process]:
    """Live (not zombie) processes whose environment says they belong to `run_id`."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                continue
            if process.environ().get("ENGINE_RUN_ID") == run_id:
                found.append(process)
        except psutil.Error:
            continue
    return found


def _engine(ledger: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LEDGER_DB": str(ledger)}
    return subprocess.run(
        [*ENGINE, *args], env=env, capture_output=True, text=True, timeout=30, check=False
    )


def _steps(ledger: Path, run_id: str) -> dict[str, StepStatus]:
    with LedgerReader.open(ledger) as reader:
        return {s.step_id: s.status for s in reader.run_steps(run_id)}


def test_kill_9_then_runs_shows_crashed_and_resume_completes(tmp_path: Path) -> None:
    ledger = tmp_path / ".ledger" / "framework.db"
    plan = tmp_path / "sleeps.json"
    steps = [
        {"id": "quick", "command": "true"},
        {"id": "s1", "command": "sleep", "args": ["${DUR}"], "depends_on": ["quick"]},
        # A grandchild in the background: it must die too.
        {"id": "s2", "command": "sleep ${DUR} & sleep ${DUR}; wait", "shell": True,
         "depends_on": ["quick"]},
        {"id": "after", "command": "true", "depends_on": ["s1", "s2"]},
    ]  # fmt: skip
    plan.write_text(json.dumps({"name": "sleeps", "vars": {"DUR": "30"}, "steps": steps}))
    env = {**os.environ, "LEDGER_DB": str(ledger)}
    engine = subprocess.Popen([*ENGINE, "run", str(plan), "-q"], env=env, cwd=tmp_path)
    try:
        run_id = wait_for(lambda: ledger.exists() and _latest(ledger))
        wait_for(lambda: len(processes_of(run_id)) >= 4)  # s1, s2's shell and its two sleeps
        wait_for(lambda: _steps(ledger, run_id)["s2"] is StepStatus.RUNNING)
    finally:
        engine.send_signal(signal.SIGKILL)
        engine.wait()

    listed = _engine(ledger, "runs", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)[0]["status"] == "crashed"
    assert f"run {run_id} was marked crashed" in listed.stderr
    assert processes_of(run_id) == []
    assert _steps(ledger, run_id) == {
        "quick": StepStatus.SUCCEEDED, "s1": StepStatus.ABANDONED,
        "s2": StepStatus.ABANDONED, "after": StepStatus.ABANDONED,
    }  # fmt: skip
    conn = sqlite3.connect(ledger)
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    conn.close()
    with LedgerReader.open(ledger) as reader:
        assert {a.status for a in reader.attempts(run_id, "s1")} == {AttemptStatus.ABANDONED}
        assert reader.events(run_id=run_id, limit=1)[0].type == "run_crashed"

    resumed = _engine(ledger, "resume", run_id, "--var", "DUR=0.1", "-q")
    assert resumed.returncode == 0, resumed.stderr
    new_id = _latest(ledger)
    assert new_id != run_id
    assert _steps(ledger, new_id) == {
        "quick": StepStatus.REUSED, "s1": StepStatus.SUCCEEDED,
        "s2": StepStatus.SUCCEEDED, "after": StepStatus.SUCCEEDED,
    }  # fmt: skip


def _latest(ledger: Path) -> str:
    try:
        with LedgerReader.open(ledger) as reader:
            runs = reader.list_runs(limit=1)
    except Exception:
        return ""
    return runs[0].id if runs else ""


async def _write_run(
    path: Path,
    run_id: str,
    owner: Owner,
    pid: int | None = None,
    *,
    created_at: float | None = None,
    attempt: bool = True,
) -> None:
    async with await LedgerWriter.open(path) as w:
        w.create_run(
            run_id=run_id, plan_hash="h", plan_name="p", plan_version=None, plan_json="{}",
            plan_path=None, vars={}, step_ids=["a"], hook_ids=[], owner=owner,
            resumed_from=None, created_at=time.time() if created_at is None else created_at,
        )  # fmt: skip
        if attempt:
            w.attempt_started(
                run_id=run_id, step_id="a", attempt=1, at=time.time(), pid=pid, log_path=None,
                retry_reason=None, delay_sec=None,
            )  # fmt: skip


def _dead_owner() -> Owner:
    proc = subprocess.Popen(["true"])
    started = psutil.Process(proc.pid).create_time()
    proc.wait()
    return Owner(proc.pid, started, socket.gethostname(), Owner.current().boot_id)


def test_engine_run_marks_a_dead_engines_run_crashed_before_it_starts(tmp_path: Path) -> None:
    ledger = tmp_path / "framework.db"
    asyncio.run(_write_run(ledger, "dead000000000", _dead_owner()))
    plan = tmp_path / "one.json"
    plan.write_text(json.dumps({"name": "one", "steps": [{"id": "a", "command": "true"}]}))
    ran = _engine(ledger, "run", str(plan), "-q")
    assert ran.returncode == 0, ran.stderr
    with LedgerReader.open(ledger) as reader:
        status = {r.id: r.status for r in reader.list_runs()}
    assert status.pop("dead000000000") is RunStatus.CRASHED
    assert list(status.values()) == [RunStatus.SUCCEEDED]


def test_own_start_time_is_the_one_psutil_reports() -> None:
    """Owner.current() reads /proc itself (psutil costs ~7 ms to import); is_gone uses psutil."""
    owner = Owner.current()
    assert abs(owner.process_start_time - psutil.Process().create_time()) < 0.01
    assert not owner.is_gone()


def test_reconcile_marks_only_runs_whose_owner_is_provably_gone(tmp_path: Path) -> None:
    ledger = tmp_path / "framework.db"
    alive = Owner.current()
    elsewhere = Owner(pid=1, process_start_time=0.0, host="another-host", boot_id=None)
    asyncio.run(_write_run(ledger, "alive00000000", alive))
    asyncio.run(_write_run(ledger, "remote0000000", elsewhere))
    asyncio.run(_write_run(ledger, "dead000000000", _dead_owner()))
    reused_pid = Owner(alive.pid, alive.process_start_time - 100, alive.host, alive.boot_id)
    asyncio.run(_write_run(ledger, "reused0000000", reused_pid))
    assert sorted(reconcile_path(ledger)) == ["dead000000000", "reused0000000"]
    assert reconcile_path(ledger) == []  # once only
    with LedgerReader.open(ledger) as reader:
        status = {r.id: r.status for r in reader.list_runs()}
        assert reader.attempts("dead000000000")[0].status is AttemptStatus.ABANDONED
        assert reconcile(reader) == []
    assert status == {
        "alive00000000": RunStatus.RUNNING, "remote0000000": RunStatus.RUNNING,
        "dead000000000": RunStatus.CRASHED, "reused0000000": RunStatus.CRASHED,
    }  # fmt: skip
    assert reconcile_path(tmp_path / "missing.db") == []


@pytest.fixture
def spawn() -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(command: str, run_id: str, *, session: bool = True) -> subprocess.Popen[bytes]:
        env = {**os.environ, "ENGINE_RUN_ID": run_id}
        proc = subprocess.Popen(["sh", "-c", command], env=env, start_new_session=session)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.kill()
        proc.wait()


def test_recovery_kills_a_step_whose_attempt_row_was_never_committed(
    tmp_path: Path, spawn: Callable[..., subprocess.Popen[bytes]]
) -> None:
    """kill -9 between a spawn and the commit of its attempt row: the ledger knows no pid."""
    ledger = tmp_path / "framework.db"
    dead = _unique("dead")
    asyncio.run(_write_run(ledger, dead, _dead_owner(), attempt=False,
                           created_at=time.time() - 5))  # fmt: skip
    step = spawn("sleep 30 & sleep 30; wait", dead)
    escaped = spawn("exec sleep 30", dead, session=True)
    other_run = spawn("exec sleep 30", _unique("live"))
    wait_for(lambda: len(psutil.Process(step.pid).children()) == 2)
    grandchildren = psutil.Process(step.pid).children()
    assert reconcile_path(ledger) == [dead]
    assert wait_for(lambda: step.poll() is not None) and step.returncode == -signal.SIGKILL
    assert wait_for(lambda: escaped.poll() is not None)
    _, alive = psutil.wait_procs(grandchildren, timeout=30)
    assert alive == []
    assert _alive(other_run)


def test_kill_run_processes_spares_other_runs_and_older_processes(
    spawn: Callable[..., subprocess.Popen[bytes]],
) -> None:
    run_0, run_1 = _unique("run0"), _unique("run1")
    ours = spawn("sleep 30 & sleep 30; wait", run_1, session=False)
    other_run = spawn("exec sleep 30", _unique("run2"))
    older = spawn("exec sleep 30", run_0)
    wait_for(lambda: len(psutil.Process(ours.pid).children()) == 2)
    members = {ours.pid, *(p.pid for p in psutil.Process(ours.pid).children())}
    # A run that began after `older` was created cannot have started it.
    assert kill_run_processes(run_0, since=time.time() + 5) == []
    assert sorted(kill_run_processes(run_1, since=time.time() - 5)) == sorted(members)
    assert wait_for(lambda: ours.poll() is not None)
    assert _alive(other_run) and _alive(older)


def _unique(prefix: str) -> str:
    """A run id no other test process on this machine uses (test suites may run side by side)."""
    return prefix + secrets.token_hex(8)[: 13 - len(prefix)]


def _alive(proc: subprocess.Popen[bytes]) -> bool:
    return proc.poll() is None
