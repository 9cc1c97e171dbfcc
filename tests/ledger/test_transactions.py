"""The one write transaction: committed whole, or rolled back whole with the block's own error."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from engine.ledger.status_sql import ACTIVE_RUN, STARTED_STEP, UNFINISHED_STEP
from engine.ledger.transactions import write_transaction


def _rows(path: Path) -> list[int]:
    with sqlite3.connect(path) as reader:
        return [row[0] for row in reader.execute("SELECT a FROM t ORDER BY a")]


def test_write_transaction_commits_or_rolls_back_whole(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE t (a INTEGER)")
    with write_transaction(conn):
        conn.execute("INSERT INTO t VALUES (1)")
        conn.execute("INSERT INTO t VALUES (2)")
    assert _rows(path) == [1, 2]
    with pytest.raises(ZeroDivisionError), write_transaction(conn):
        conn.execute("INSERT INTO t VALUES (3)")
        _ = 1 / 0
    assert not conn.in_transaction
    assert _rows(path) == [1, 2]
    conn.close()


def test_status_lists_come_from_the_enums() -> None:
    assert ACTIVE_RUN == "('pending', 'running')"
    assert UNFINISHED_STEP == "('pending', 'ready', 'running', 'retrying')"
    assert STARTED_STEP == "('running', 'retrying')"
