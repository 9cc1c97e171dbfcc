"""Where the ledger lives: --ledger, then $LEDGER_DB, then the nearest .ledger/ upward, like git."""

from __future__ import annotations

import os
from pathlib import Path

from engine.errors import LedgerError

LEDGER_DIR_NAME = ".ledger"
LEDGER_FILE_NAME = "framework.db"
ENV_VAR = "LEDGER_DB"


def find_ledger_dir(start: Path) -> Path | None:
    """Return the nearest directory named `.ledger` in `start` or one of its parents."""
    for directory in (start, *start.parents):
        candidate = directory / LEDGER_DIR_NAME
        if candidate.is_dir():
            return candidate
    return None


def resolve_ledger_path(explicit: str | None, *, create: bool, cwd: Path | None = None) -> Path:
    """Return the ledger file to use, creating `<cwd>/.ledger/` (with a `.gitignore`) if asked.

    An explicit path or $LEDGER_DB is used as given (relative to `cwd`); only its parent
    directory is created, since the user chose where it goes.
    """
    base = Path.cwd() if cwd is None else cwd
    chosen = explicit or os.environ.get(ENV_VAR) or None
    if chosen:
        path = base / Path(chosen).expanduser()
        if create:
            _make_dir(path.parent)
        return path
    found = find_ledger_dir(base)
    if found is not None:
        return found / LEDGER_FILE_NAME
    directory = base / LEDGER_DIR_NAME
    if directory.exists() or directory.is_symlink():
        raise LedgerError(
            f"{directory} exists but is not a directory; move it away or pass --ledger PATH."
        )
    if create:
        _make_dir(directory)
        gitignore = directory / ".gitignore"
        if not gitignore.exists():
            # Logs and the database are local state, never something to commit.
            gitignore.write_text("*\n", encoding="utf-8")
    return directory / LEDGER_FILE_NAME


def _make_dir(directory: Path) -> None:
    """Create the ledger's directory, or say in one sentence why it cannot be."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise LedgerError(f"{directory} exists but is not a directory.") from None
    except OSError as error:
        reason = error.strerror or str(error)
        raise LedgerError(f"Cannot create the ledger directory {directory}: {reason}.") from None


def logs_dir(ledger_path: Path) -> Path:
    """Return the directory holding this ledger's step logs (see `beside_ledger`)."""
    return beside_ledger(ledger_path, "logs")


def run_logs_dir(ledger_path: Path, run_id: str) -> Path:
    """Return the directory a run's step logs are written to."""
    return logs_dir(ledger_path) / run_id


def attempt_log_name(step_id: str, attempt: int) -> str:
    """Return the file name of one attempt's log in its run's log directory."""
    return f"{step_id}.{attempt}.log"


def recorded_log_path(log_path: str | None, ledger_path: Path) -> str | None:
    """Return the file an attempt's recorded `log_path` names, for every reader of logs.

    Absolute as recorded; a relative one is relative to the directory holding `.ledger/`.
    """
    if log_path is None or os.path.isabs(log_path):
        return log_path
    return str(ledger_path.parent.parent / log_path)


def beside_ledger(ledger_path: Path, kind: str) -> Path:
    """Return the directory of one kind (`logs`, `scratch`) that belongs to this ledger file.

    `framework.db` keeps `KIND/` beside it; any other file `NAME.db` gets `NAME.KIND/`, so two
    ledgers in one directory never share (or garbage-collect) each other's files.
    """
    if ledger_path.name == LEDGER_FILE_NAME:
        return ledger_path.parent / kind
    return ledger_path.parent / f"{ledger_path.stem}.{kind}"


def shared_logs_dir(ledger_path: Path) -> Path:
    """Return `logs/` beside the ledger, where every ledger file once wrote its logs.

    Runs recorded then still point there (their `log_path`), so gc looks there for their logs.
    """
    return ledger_path.parent / "logs"


def own_paths(ledger_path: Path) -> tuple[Path, ...]:
    """Return the ledger's files and the directories of its logs, scratch and plan cache: what a
    step's cache inputs never match, or `**/*` would change its key on every run."""
    files = [
        ledger_path.with_name(ledger_path.name + end) for end in ("", "-wal", "-shm", "-journal")
    ]
    dirs = [logs_dir(ledger_path), shared_logs_dir(ledger_path), ledger_path.parent / "cache"]
    return (*files, *dirs, beside_ledger(ledger_path, "scratch"))
