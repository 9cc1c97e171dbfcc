"""Opening a ledger whose writer was SIGKILLed mid-write, in a directory this user may write."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from engine.errors import LedgerError
from engine.ledger.connection import connect_readonly, ledger_error

# A writer creating a ledger, killed mid-transaction after SQLite spilled pages into the file:
# the file is torn and its -journal is hot, which only a writing connection may roll back. The
# engine leaves the same state when killed while it switches a new ledger to WAL.
_KILLED_CREATOR = """
import os, signal, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA cache_size = 10")
conn.execute("BEGIN")
conn.execute("PRAGMA application_id = 1279543122")
conn.execute("PRAGMA user_version = 1")
conn.execute("CREATE TABLE runs (x)")
conn.executemany("INSERT INTO runs VALUES (?)", [("x" * 500,)] * 2000)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_hot_journal_a_killed_creator_left_is_rolled_back_by_the_next_reader(
    tmp_path: Path,
) -> None:
    path = tmp_path / "framework.db"
    killed = subprocess.run([sys.executable, "-c", _KILLED_CREATOR, str(path)], timeout=60)
    assert killed.returncode == -signal.SIGKILL
    journal = path.with_name(path.name + "-journal")
    assert journal.stat().st_size > 0 and path.stat().st_size > 0
    with pytest.raises(LedgerError, match="is not initialised yet"):
        connect_readonly(path)  # the creation never committed: the ledger is empty again
    assert not journal.exists()
    assert path.stat().st_size == 0


def test_a_readonly_error_on_a_writable_ledger_does_not_blame_permissions(tmp_path: Path) -> None:
    path = tmp_path / "framework.db"
    sqlite3.connect(path).close()
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        with pytest.raises(sqlite3.OperationalError) as caught:
            conn.execute("CREATE TABLE t (x)")
    finally:
        conn.close()
    assert caught.value.sqlite_errorcode & 0xFF == 8  # SQLITE_READONLY
    message = ledger_error(caught.value, path).message
    assert "can be read but not written" not in message
    assert str(path) in message
