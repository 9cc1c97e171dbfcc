"""The dashboard on a ledger it may read but not write: it shows everything, and a cancel
request fails with one sentence instead of the dashboard."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from engine.ledger.connection import connect_writable
from tests.tui.ledger_builder import ACTIVE_RUN

REPO = Path(__file__).resolve().parents[2]


def _read_only(directory: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """Run `argv` with `directory` bind-mounted read-only over itself (root ignores file modes)."""
    script = 'mount --bind -o ro "$0" "$0" && exec "$@"'
    return subprocess.run(
        ["unshare", "--mount", "sh", "-c", script, str(directory), *argv],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.fixture
def read_only_dir(ledger: Path) -> Path:
    connect_writable(ledger).close()  # checkpointed: no -wal or -shm left beside it
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare(1) to mount a directory read-only")
    probe = _read_only(ledger.parent, "touch", str(ledger.parent / "probe"))
    if "Read-only file system" not in probe.stderr:
        pytest.skip(f"cannot make a read-only bind mount here: {probe.stderr.strip()}")
    return ledger.parent


def test_the_dashboard_reads_a_read_only_ledger_and_cancel_says_why_not(
    ledger: Path, read_only_dir: Path
) -> None:
    result = _read_only(
        read_only_dir, sys.executable, "-m", "tests.tui.read_only_dashboard", str(ledger)
    )
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout.strip().splitlines()[-1])
    assert shown["run_id"] == ACTIVE_RUN
    assert shown["notes"] == [
        f"The ledger {ledger} can be read but not written by this user (the file or its "
        "directory is read-only); reading commands work, this one needs write access."
    ]
    with sqlite3.connect(ledger) as conn:
        assert conn.execute("SELECT count(*) FROM cancel_requests").fetchone()[0] == 0


def test_ledger_tui_status_and_version(ledger: Path, read_only_dir: Path) -> None:
    status = _read_only(
        read_only_dir, sys.executable, "-m", "ledger_tui.cli", "--ledger", str(ledger), "status"
    )
    assert status.returncode == 0 and ACTIVE_RUN in status.stdout, status.stderr
    version = subprocess.run(
        [sys.executable, "-m", "ledger_tui.cli", "--version"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert version.returncode == 0 and version.stdout.startswith("ledger-tui, version ")
