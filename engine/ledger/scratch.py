"""A run's scratch directory, `<ledger dir>/scratch/<run_id>/`: where steps write `$ENGINE_OUTPUT`.

A step writes raw values there, secrets included, before the engine masks them into the ledger. So
the directory is private (mode 0700, as is `scratch/`), lives next to the ledger rather than in a
shared temp directory, and goes away with the run: at its end, or when a command finds the run
crashed, or in `engine gc` for whatever an earlier crash or interruption left.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

from engine.errors import LedgerError
from engine.ledger.location import beside_ledger

SCRATCH_DIR_NAME = "scratch"
_PRIVATE = 0o700
_LEGACY_PREFIX = "engine-"


def scratch_root(ledger_path: Path) -> Path:
    """The directory holding every run's scratch: `scratch/` beside `framework.db`, else
    `NAME.scratch/` beside `NAME.db`, so gc on one ledger never takes another's live scratch."""
    return beside_ledger(ledger_path, SCRATCH_DIR_NAME)


def create_run_scratch(ledger_path: Path, run_id: str) -> Path:
    """Create the run's private scratch directory (and `scratch/`, private too); return its path.

    Raises LedgerError (exit 3) when the ledger's directory cannot hold it (full, read-only).
    """
    root = scratch_root(ledger_path)
    directory = root / run_id
    try:
        root.mkdir(mode=_PRIVATE, parents=True, exist_ok=True)
        if stat.S_IMODE(root.stat().st_mode) != _PRIVATE:
            root.chmod(_PRIVATE)  # made by hand, or under a umask that took bits away
        directory.mkdir(mode=_PRIVATE)
        directory.chmod(_PRIVATE)
    except OSError as error:
        reason = error.strerror or str(error)
        message = f"Cannot create the run's scratch directory {directory}: {reason}."
        raise LedgerError(message) from None
    return directory


def remove_run_scratch(ledger_path: Path, run_id: str) -> bool:
    """Remove the run's scratch directory with what its steps wrote; False if there was none."""
    directory = scratch_root(ledger_path) / run_id
    if not directory.is_dir():
        return False
    shutil.rmtree(directory, ignore_errors=True)
    return not directory.exists()


def remove_stale_scratch(ledger_path: Path, is_live: Callable[[str], bool]) -> list[str]:
    """Remove the scratch of every run `is_live(run_id)` says is over; return those run ids.

    `is_live` is asked about each directory found, so a run whose row is gone (deleted by gc, or
    never committed before a crash) is cleaned up too when it answers False.
    """
    root = scratch_root(ledger_path)
    try:
        names = sorted(entry.name for entry in os.scandir(root) if entry.is_dir())
    except FileNotFoundError:
        return []
    removed = []
    for run_id in names:
        if not is_live(run_id) and remove_run_scratch(ledger_path, run_id):
            removed.append(run_id)
    return removed


def remove_legacy_scratch(temp_dir: Path, is_over: Callable[[str], bool]) -> list[Path]:
    """Remove the `engine-<run_id>-*` dirs earlier versions kept outputs in, for runs that are over.

    Only this user's directories, and only of runs `is_over` knows: one temp dir may hold those of
    several ledgers.
    """
    removed = []
    try:
        entries = [e for e in os.scandir(temp_dir) if e.name.startswith(_LEGACY_PREFIX)]
    except OSError:
        return []
    uid = os.geteuid()
    for entry in entries:
        run_id = entry.name[len(_LEGACY_PREFIX) :].partition("-")[0]
        try:
            if not entry.is_dir(follow_symlinks=False) or entry.stat().st_uid != uid:
                continue
        except OSError:
            continue
        if is_over(run_id):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(Path(entry.path))
    return removed
