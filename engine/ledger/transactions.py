"""The one write transaction every synchronous ledger writer uses: `BEGIN IMMEDIATE ... COMMIT`.

IMMEDIATE takes the write lock up front, so a writer waits (busy_timeout) at BEGIN instead of
failing at its first write when another process committed meanwhile.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress


@contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Run the block in one write transaction on an autocommit connection; roll back if it raises.

    A failed ROLLBACK is ignored: the error that ended the block is the one worth reporting.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise
