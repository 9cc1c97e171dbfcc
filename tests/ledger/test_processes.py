"""Several processes on one ledger: no "database is locked", and kill -9 loses nothing committed."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.ledger.reader import LedgerReader
from engine.states import RunStatus
from tests.ledger.test_writer import ORPHANS

SCRIPT = Path(__file__).with_name("writer_proc.py")
REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def spawn(path: Path, run_id: str, steps: int) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), str(path), run_id, str(steps)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_two_writer_processes_and_a_polling_reader(ledger_path: Path) -> None:
    ledger_path.parent.mkdir()
    steps = 1500
    writers = [spawn(ledger_path, f"run{i}", steps) for i in range(2)]
    deadline = time.monotonic() + 60
    reader: LedgerReader | None = None
    polls = 0
    try:
        while any(w.poll() is None for w in writers) and time.monotonic() < deadline:
            if reader is None:
                if ledger_path.exists():
                    try:
                        reader = LedgerReader.open(ledger_path)
                    except Exception:  # not migrated yet: the writers create it
                        time.sleep(0.01)
                continue
            with reader.snapshot():
                reader.list_runs()
                reader.active_runs()
                reader.events(limit=200)
                assert reader._query(ORPHANS)[0][0] == 0
            polls += 1
        for w in writers:
            _, stderr = w.communicate(timeout=60)
            assert w.returncode == 0, stderr
            assert "locked" not in stderr
    finally:
        for w in writers:
            if w.poll() is None:
                w.kill()
        if reader is not None:
            reader.close()
    assert polls > 10
    with LedgerReader.open(ledger_path) as final:
        runs = final.list_runs()
        assert {r.status for r in runs} == {RunStatus.SUCCEEDED}
        assert [r.steps_done for r in runs] == [steps, steps]


def test_kill_9_mid_stream_loses_nothing_committed(ledger_path: Path) -> None:
    ledger_path.parent.mkdir()
    proc = spawn(ledger_path, "victim", 0)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    conn = sqlite3.connect(ledger_path)
    deadline = time.monotonic() + 60
    while conn.execute("SELECT count(*) FROM step_attempts").fetchone()[0] < 2000:
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    conn.close()

    conn = sqlite3.connect(ledger_path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute(ORPHANS).fetchone()[0] == 0
    # Every finished attempt's step has its final state and event too (same stretch).
    unfinished_steps = conn.execute(
        "SELECT count(*) FROM step_attempts a JOIN run_steps s USING (run_id, step_id)"
        " WHERE a.status = 'succeeded' AND s.status <> 'succeeded'"
    ).fetchone()[0]
    assert unfinished_steps == 0
    assert conn.execute("SELECT count(*) FROM step_attempts").fetchone()[0] >= 2000
    conn.close()
