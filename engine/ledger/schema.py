"""Applying the ledger's schema (`engine/ledger/ddl.py`): versions, foreign files, migrations.

`MIGRATIONS[i]` takes a ledger from `user_version` i to i + 1; a ledger is brought forward one
migration at a time, each in its own write transaction.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from engine.errors import LedgerError
from engine.ledger.ddl import MIGRATIONS as MIGRATIONS  # the schema's text, re-exported
from engine.ledger.transactions import write_transaction

APPLICATION_ID = 0x4C444752  # "LDGR": marks the file as ours for `file(1)` and for us
SCHEMA_VERSION = len(MIGRATIONS)


def split_statements(script: str) -> list[str]:
    """Split a migration into statements, so they can run inside our own transaction.

    `executescript` would commit any open transaction first, losing the atomicity of a migration.
    """
    statements: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if pending.strip():
        raise ValueError(f"incomplete SQL statement in migration: {pending.strip()[:60]}")
    return statements


# One statement is one read snapshot: separate statements could see a ledger another connection
# is creating half before and half after its creating transaction commits (app_id 0 with
# user_version 1, or no version with tables), and call it foreign.
_HEADER = (
    "SELECT (SELECT application_id FROM pragma_application_id),"
    " (SELECT user_version FROM pragma_user_version),"
    " (SELECT count(*) FROM sqlite_schema WHERE type = 'table')"
)


def read_header(conn: sqlite3.Connection) -> tuple[int, int, bool]:
    """Return (application_id, user_version, whether any table exists) from one snapshot."""
    app_id, version, tables = conn.execute(_HEADER).fetchone()
    return int(app_id), int(version), bool(tables)


def read_version(conn: sqlite3.Connection) -> tuple[int, int]:
    """Return the file's (application_id, user_version) from one snapshot."""
    app_id, version, _ = read_header(conn)
    return app_id, version


def foreign_message(path: Path) -> str:
    """The one sentence for an SQLite database some other application wrote."""
    return f"{path} is an SQLite database but not a ledger."


def check_version(path: Path, app_id: int, version: int) -> None:
    """Refuse a file that is not ours or was written by a newer engine."""
    if app_id not in (0, APPLICATION_ID) or (app_id == 0 and version != 0):
        raise LedgerError(foreign_message(path))
    if version > SCHEMA_VERSION:
        raise LedgerError(
            f"{path} was written by a newer version of engine (schema {version}, this engine "
            f"knows {SCHEMA_VERSION}); upgrade engine."
        )


def migrate(conn: sqlite3.Connection, path: Path) -> int:
    """Apply pending migrations in one transaction and return the schema version.

    `conn` must be in autocommit mode (isolation_level=None). Versions are read inside the write
    transaction, so two engines opening a fresh ledger at once cannot both migrate it.
    """
    app_id, version = read_version(conn)
    check_version(path, app_id, version)
    if version == SCHEMA_VERSION:
        return version
    with write_transaction(conn):
        app_id, version, tables = read_header(conn)
        check_version(path, app_id, version)
        if version == 0 and tables:
            raise LedgerError(foreign_message(path))
        for script in MIGRATIONS[version:]:
            for statement in split_statements(script):
                conn.execute(statement)
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    return SCHEMA_VERSION
