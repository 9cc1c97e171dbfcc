"""Opening the ledger file: pragmas, schema checks, and sqlite errors turned into LedgerError."""

from __future__ import annotations

import os
import sqlite3
import stat
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from engine.errors import LedgerError, UserError
from engine.ledger import schema

BUSY_TIMEOUT_MS = 10_000
SYNCHRONOUS_ENV = "LEDGER_SYNCHRONOUS"
Synchronous = Literal["NORMAL", "FULL"]

# Primary result codes (the low byte of an extended code) we can explain to a user.
_SQLITE_BUSY = 5
_SQLITE_READONLY = 8
_SQLITE_IOERR = 10
_SQLITE_CORRUPT = 11
_SQLITE_FULL = 13
_SQLITE_CANTOPEN = 14
_SQLITE_NOTADB = 26


def synchronous_setting(explicit: Synchronous | None = None) -> Synchronous:
    """Return the `synchronous` pragma: the argument, else $LEDGER_SYNCHRONOUS, else NORMAL."""
    if explicit is not None:
        return explicit
    value = os.environ.get(SYNCHRONOUS_ENV, "NORMAL").strip().upper() or "NORMAL"
    if value == "NORMAL":
        return "NORMAL"
    if value == "FULL":
        return "FULL"
    raise UserError(f"{SYNCHRONOUS_ENV} must be NORMAL or FULL, not {value!r}.")


def ledger_error(exc: sqlite3.Error, path: Path) -> LedgerError:
    """Return the one-sentence LedgerError that explains `exc` on the ledger at `path`."""
    primary = _primary_code(exc)
    if primary == _SQLITE_FULL:
        message = f"The disk holding the ledger {path} is full; free some space and retry."
    elif primary == _SQLITE_NOTADB:
        message = f"{path} is not an SQLite database, so it cannot be a ledger."
    elif primary == _SQLITE_CORRUPT:
        message = f"The ledger {path} is corrupt ({exc}); restore it from a copy or move it away."
    elif (primary == _SQLITE_READONLY or (primary == _SQLITE_CANTOPEN and path.exists())) and (
        not _writable(path)
    ):
        message = (
            f"The ledger {path} can be read but not written by this user (the file or its "
            "directory is read-only); reading commands work, this one needs write access."
        )
    elif primary == _SQLITE_CANTOPEN:
        message = f"The ledger {path} cannot be opened; check that its directory exists."
    elif primary == _SQLITE_BUSY:
        message = f"The ledger {path} stayed locked by another process for over 10 s."
    elif primary == _SQLITE_IOERR:
        message = f"Reading or writing the ledger {path} failed with an I/O error ({exc})."
    else:
        message = f"The ledger {path} cannot be used: {exc}."
    error = LedgerError(message)
    error.__cause__ = exc
    return error


@contextmanager
def translate_errors(path: Path) -> Iterator[None]:
    """Turn any sqlite3 error raised inside the block into a LedgerError naming `path`."""
    try:
        yield
    except sqlite3.Error as exc:
        raise ledger_error(exc, path) from exc


def _refuse_non_file(path: Path) -> None:
    """Refuse a directory, FIFO, socket or device: SQLite would fail on it, or block on a FIFO."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return  # missing (the caller says so) or unreachable (SQLite says why)
    if stat.S_ISDIR(mode):
        raise LedgerError(f"{path} is a directory, not a ledger file.")
    if not stat.S_ISREG(mode):
        kind = "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a special file"
        raise LedgerError(f"{path} is {kind}, not a ledger file.")


def _writable(path: Path) -> bool:
    """Tell whether this user may write the ledger file and create its -wal/-shm/-journal files."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)


def _snapshot_is_whole(path: Path) -> bool:
    """Tell whether the file alone holds every commit: no -wal with frames, no hot -journal."""
    wal = path.with_name(path.name + "-wal")
    journal = path.with_name(path.name + "-journal")
    try:
        if wal.stat().st_size:
            return False
    except FileNotFoundError:
        pass
    try:
        return journal.stat().st_size == 0
    except FileNotFoundError:
        return True


def configure(conn: sqlite3.Connection, *, synchronous: Synchronous, writable: bool) -> None:
    """Apply the ledger's per-connection pragmas."""
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    if writable:
        # WAL is persistent in the file; readers inherit it and never block the writer.
        mode = _switch_to_wal(conn)
        if mode.lower() != "wal":
            raise sqlite3.OperationalError(f"cannot switch to WAL (journal_mode is {mode})")
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        # Checkpoints leave the WAL file at its peak size; cap what stays on disk.
        conn.execute("PRAGMA journal_size_limit = 67108864")


def _switch_to_wal(conn: sqlite3.Connection) -> str:
    """`PRAGMA journal_mode = WAL`; the mode it leaves.

    A fresh file's first switch is a write that begins as a read. When several connections
    switch it at once, SQLite answers SQLITE_BUSY at once to the ones whose waiting could
    deadlock, without calling the busy handler (two engines starting on a new ledger: 5 in 200).
    Those try again, within the busy timeout.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    pause = 0.001
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        except sqlite3.OperationalError as exc:
            if _primary_code(exc) != _SQLITE_BUSY or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def connect_writable(
    path: Path, *, synchronous: Synchronous | None = None, migrate: bool = True
) -> sqlite3.Connection:
    """Open the ledger for writing (creating and migrating it), in autocommit mode.

    Callers run their own short transactions (`transactions.write_transaction`).
    """
    _refuse_non_file(path)
    sync = synchronous_setting(synchronous)
    conn: sqlite3.Connection | None = None
    with translate_errors(path):
        try:
            conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
            # Check the header before any pragma writes to a file that is not ours.
            app_id, version = schema.read_version(conn)
            schema.check_version(path, app_id, version)
            configure(conn, synchronous=sync, writable=True)
            if migrate:
                schema.migrate(conn, path)
        except BaseException:
            if conn is not None:
                conn.close()
            raise
    return conn


class _OlderSchema(LedgerError):
    """A ledger an older engine wrote: a writing connection migrates it."""


def connect_readonly(path: Path, *, check_same_thread: bool = True) -> sqlite3.Connection:
    """Open an existing ledger read-only and check that this engine understands its schema.

    A writer killed mid-write can leave what only a writing connection may repair (a hot
    rollback journal from the ledger's creation, a WAL index to rebuild): where this user may
    write, one writing connection repairs it and the read is retried; so is a ledger an older
    engine wrote, which it migrates. A ledger in a directory
    this user cannot write is read as an immutable snapshot, as long as no `-wal` file holds
    commits it would miss and no `-journal` says the file is torn.
    """
    _refuse_non_file(path)
    if not path.exists():
        raise LedgerError(f"There is no ledger at {path} yet.")
    try:
        return _open_readonly(path, check_same_thread, immutable=False)
    except _OlderSchema:
        if not _writable(path):
            raise
        connect_writable(path).close()  # migrates, as the first `engine run` would
        return _open_readonly(path, check_same_thread, immutable=False)
    except LedgerError as error:
        if _primary_code(error.__cause__) not in (_SQLITE_CANTOPEN, _SQLITE_READONLY):
            raise
        if _writable(path):
            _repair(path)
            return _open_readonly(path, check_same_thread, immutable=False)
        if not _snapshot_is_whole(path):
            raise
        return _open_readonly(path, check_same_thread, immutable=True)


def _primary_code(exc: BaseException | None) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def _repair(path: Path) -> None:
    """Let SQLite roll back a hot journal or rebuild the WAL index, which a read-only open cannot.

    Reading the schema through a writing connection does it; nothing is written otherwise.
    """
    with translate_errors(path):
        conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=rw",
            uri=True,
            isolation_level=None,
            timeout=BUSY_TIMEOUT_MS / 1000,
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()
        finally:
            conn.close()


def _open_readonly(path: Path, check_same_thread: bool, *, immutable: bool) -> sqlite3.Connection:
    conn: sqlite3.Connection | None = None
    flags = "mode=ro&immutable=1" if immutable else "mode=ro"
    with translate_errors(path):
        try:
            conn = sqlite3.connect(
                f"{path.resolve().as_uri()}?{flags}",
                uri=True,
                isolation_level=None,
                timeout=BUSY_TIMEOUT_MS / 1000,
                check_same_thread=check_same_thread,
            )
            configure(conn, synchronous="NORMAL", writable=False)
            app_id, version, tables = schema.read_header(conn)
            schema.check_version(path, app_id, version)
            if version == 0 and tables:
                raise LedgerError(schema.foreign_message(path))
            if version == 0:  # being created: a reader never races its creator to migrate it
                raise LedgerError(
                    f"{path} is not initialised yet; the engine creates it on its first run."
                )
            if version < schema.SCHEMA_VERSION:
                raise _OlderSchema(
                    f"{path} has schema {version}, older than this engine's "
                    f"{schema.SCHEMA_VERSION}; its owner's next engine command migrates it."
                )
        except BaseException:
            if conn is not None:
                conn.close()
            raise
    return conn


def unencodable_as_bytes(params: Sequence[Any]) -> list[Any]:
    """The parameters with each text SQLite cannot take (not UTF-8) as the bytes it stood for.

    A command-line argument that is not UTF-8 arrives with Python's surrogate escapes; it can equal
    no text in the ledger, and as bytes it matches none, where as text it raised.
    """
    return [
        param.encode("utf-8", "surrogateescape")
        if isinstance(param, str) and not _encodes(param)
        else param
        for param in params
    ]


def _encodes(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def printable_path(path: str) -> str:
    """A file path as ledger text: bytes that are not UTF-8 as \\xNN, as `ls -b` shows them."""
    return path if _encodes(path) else os.fsencode(path).decode("utf-8", "backslashreplace")


def require_text_path(path: Path) -> None:
    """Refuse to record runs in a ledger whose path is not UTF-8: log paths are ledger text."""
    if not _encodes(str(path)):
        raise LedgerError(
            f"The ledger path {printable_path(str(path))} is not UTF-8, and a run records the paths"
            " of its logs beside it as text; rename the directory (or file), or pass --ledger a"
            " path whose name is UTF-8."
        )
