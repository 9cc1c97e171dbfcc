"""Signals, kill -9 and several engines on one ledger, against a real `engine run` process."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest

from engine.ledger.reader import LedgerReader
from tests.e2e.conftest import Engine
from tests.support import live_processes_with, wait_for


def running_attempts(engine: Engine, count: int) -> bool:
    """Whether the ledger shows `count` attempts running (the ledger may not exist yet)."""
    if not engine.ledger_path.exists():
        return False
    try:
        runs = engine.runs()
        return bool(runs) and sum(a.status == "running" for a in engine.attempts()) >= count
    except Exception:
        return False


def sleepers(engine: Engine, marker: str) -> subprocess.Popen[str]:
    """Start a plan of two long sleeps side by side and a step after one of them."""
    path = engine.plan(
        [
            {"id": "one", "command": "sleep", "args": [marker]},
            {"id": "two", "command": "sleep", "args": [marker]},
            {"id": "after", "command": "true", "depends_on": ["one"]},
        ],
        globals={"max_concurrency": 2, "kill_grace_sec": 0.5},
    )
    proc = engine.start("run", path)
    wait_for(lambda: running_attempts(engine, 2))
    wait_for(lambda: len(live_processes_with(marker)) == 2)
    return proc


def catches(pid: int, *signums: int) -> bool:
    """Whether process `pid` has a handler for each of `signums` (SigCgt in /proc/PID/status)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = next(
        int(line.split()[1], 16) for line in status.splitlines() if line.startswith("SigCgt")
    )
    return all(caught >> (signum - 1) & 1 for signum in signums)


def storm(proc: subprocess.Popen[str], signum: int, count: int = 20, within: float = 0.1) -> None:
    """Send `count` signals over `within` seconds (as fast as a held-down Ctrl-C, and faster)."""
    for _ in range(count):
        if proc.poll() is not None:
            return
        proc.send_signal(signum)
        time.sleep(within / count)


@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)]
)
def test_a_signal_cancels_the_run(engine: Engine, marker: str, signum: int, code: int) -> None:
    proc = sleepers(engine, marker)
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=15)
    assert (proc.returncode, stderr) == (code, "")
    run = engine.last_run()
    assert run.status == "canceled"
    assert run.exit_code == code
    assert run.error == f"canceled by {signal.Signals(signum).name}"
    assert engine.statuses() == {"one": "canceled", "two": "canceled", "after": "skipped"}
    attempts = engine.attempts()
    assert {(a.step_id, a.status, a.error_code) for a in attempts} == {
        ("one", "canceled", "canceled"),
        ("two", "canceled", "canceled"),
    }
    assert live_processes_with(marker) == []


def test_a_second_sigint_kills_at_once(engine: Engine, marker: str) -> None:
    # The step ignores TERM, and says when it got one: the graceful stop is then under way.
    termed = engine.tmp_path / "termed"
    path = engine.plan(
        [
            {
                "id": "stubborn",
                "command": f"trap 'touch {termed}' TERM; while :; do sleep 0.05; done # {marker}",
                "shell": True,
            }
        ],
        globals={"kill_grace_sec": 60},
    )
    proc = engine.start("run", path)
    wait_for(lambda: running_attempts(engine, 1))
    wait_for(lambda: live_processes_with(marker))
    proc.send_signal(signal.SIGINT)
    wait_for(termed.exists, timeout=30)
    assert proc.poll() is None  # waiting out the 60 s grace
    assert live_processes_with(marker)
    proc.send_signal(signal.SIGINT)
    started = time.monotonic()
    _, stderr = proc.communicate(timeout=30)
    assert time.monotonic() - started < 30  # not the 60 s grace
    assert (proc.returncode, stderr) == (130, "")
    assert live_processes_with(marker) == []
    assert engine.last_run().status == "canceled"
    assert engine.statuses() == {"stubborn": "canceled"}


def test_a_sigint_storm_cancels_once_and_exits_130(engine: Engine, marker: str) -> None:
    proc = sleepers(engine, marker)
    storm(proc, signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    assert (proc.returncode, stderr) == (130, "")
    assert (engine.last_run().status, engine.last_run().exit_code) == ("canceled", 130)
    assert live_processes_with(marker) == []


def test_a_sigint_during_start_up_exits_130_quietly(engine: Engine, marker: str) -> None:
    path = engine.plan([{"id": "one", "command": "sleep", "args": [marker]}])
    proc = engine.start("run", path)
    # The engine's handlers are in (Python alone catches no SIGHUP); it is still importing.
    wait_for(lambda: catches(proc.pid, signal.SIGHUP, signal.SIGTERM), timeout=30)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    assert (proc.returncode, stderr) == (130, "")
    assert all(run.status == "canceled" for run in engine.runs())  # almost always: no run at all
    assert live_processes_with(marker) == []


def test_under_nohup_a_hangup_does_not_stop_the_run(engine: Engine, marker: str) -> None:
    gate = engine.tmp_path / "gate"
    path = engine.plan(
        [{"id": "wait", "command": f"while [ ! -e {gate} ]; do sleep 0.02; done", "shell": True}]
    )
    # What `nohup` does before it execs the engine: SIGHUP ignored.
    proc = engine.start(
        "run", path, preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN)
    )
    wait_for(lambda: running_attempts(engine, 1))
    proc.send_signal(signal.SIGHUP)
    gate.touch()
    _, stderr = proc.communicate(timeout=30)
    assert (proc.returncode, stderr) == (0, "")
    assert engine.last_run().status == "succeeded"


def test_kill_9_leaves_a_consistent_ledger(engine: Engine, marker: str) -> None:
    proc = sleepers(engine, marker)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    with sqlite3.connect(engine.ledger_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    run = engine.last_run()
    with engine.reader() as reader:
        started = reader.events(run_id=run.id, types=["step_started"])
        attempts = {(a.step_id, a.attempt) for a in reader.attempts(run.id)}
    assert len(started) == 2
    assert {(e.step_id, e.attempt) for e in started} <= attempts
    # The next engine on this ledger finds the run's owner gone: crashed, its steps killed.
    result = engine.run_plan([{"id": "x", "command": "true"}])
    assert result.returncode == 0, result.stderr
    with engine.reader() as reader:
        crashed = reader.get_run(run.id)
        assert crashed is not None and crashed.status == "crashed"
        assert {str(a.status) for a in reader.attempts(run.id)} == {"abandoned"}
    wait_for(lambda: live_processes_with(marker) == [], timeout=30)


def test_two_engines_and_a_reader_share_one_ledger(engine: Engine) -> None:
    steps = [{"id": f"s{i}", "command": "true"} for i in range(40)]
    for i in range(1, 40):
        steps[i]["depends_on"] = [f"s{i - 1}"] if i % 2 else []
    first, second = engine.plan(steps, name="first"), engine.plan(steps, name="second")
    # Create the ledger first, so the reader has something to open.
    assert engine.run_plan([{"id": "x", "command": "true"}]).returncode == 0
    errors: list[BaseException] = []
    reads = 0
    stop = threading.Event()

    def poll() -> None:
        nonlocal reads
        try:
            with LedgerReader.open(engine.ledger_path) as reader:
                while not stop.is_set():
                    for run in reader.list_runs(limit=10):
                        reader.run_steps(run.id)
                        reader.events(run_id=run.id, limit=50)
                    reads += 1
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=poll)
    thread.start()
    try:
        procs = [engine.start("run", first), engine.start("run", second)]
        outputs = [proc.communicate(timeout=30) for proc in procs]
    finally:
        stop.set()
        thread.join(timeout=10)
    assert errors == []
    assert reads > 0
    for proc, (stdout, stderr) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, stderr
        assert "locked" not in stdout + stderr
    runs = {r.plan_name: r for r in engine.runs()}
    assert runs["first"].status == runs["second"].status == "succeeded"
    assert runs["first"].steps_done == runs["second"].steps_done == 40
