"""Where the ledger lives: --ledger, then $LEDGER_DB, then the nearest .ledger/ upward, like git."""

from __future__ import annotations

import os
from pathlib import Path

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
            path.parent.mkdir(parents=True, exist_ok=True)
        return path
    found = find_ledger_dir(base)
    if found is not None:
        return found / LEDGER_FILE_NAME
    directory = base / LEDGER_DIR_NAME
    if create:
        directory.mkdir(parents=True, exist_ok=True)
        gitignore = directory / ".gitignore"
        if not gitignore.exists():
            # Logs and the database are local state, never something to commit.
            gitignore.write_text("*\n", encoding="utf-8")
    return directory / LEDGER_FILE_NAME


def logs_dir(ledger_path: Path) -> Path:
    """Return the directory holding step logs: `<ledger dir>/logs`."""
    return ledger_path.parent / "logs"
