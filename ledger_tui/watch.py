"""Finding, opening and watching the ledger for the dashboard, without Textual.

One long-lived read-only connection; `PRAGMA data_version` (a few µs) says whether another
connection committed, so an idle ledger costs one tiny query per poll and nothing else.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from engine.errors import LedgerError
from engine.ledger.reader import LedgerReader
from engine.ledger.records import RunSummary

DEFAULT_POLL_INTERVAL = 0.25
# An engine creates and migrates a ledger in milliseconds; an SQLite file that stays without a
# schema for longer is someone else's database.
UNINITIALISED_GRACE_SEC = 2.0


def is_waiting_error(error: LedgerError) -> bool:
    """Tell whether `error` means "an engine is creating this ledger right now"."""
    return "not initialised yet" in error.message


class LedgerWatch:
    """Opens the ledger once it exists and reports whether it changed since the last look."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.reader: LedgerReader | None = None
        self._uninitialised_since: float | None = None

    def open(self) -> LedgerReader | None:
        """Return the reader, or None while the ledger does not exist yet.

        Raises LedgerError for a file that is not a ledger or has a newer schema.
        """
        if self.reader is not None:
            return self.reader
        try:
            if not self.path.exists() or (self.path.is_file() and self.path.stat().st_size == 0):
                return None  # not there yet, or an engine is creating it right now
        except OSError:
            return None
        try:
            self.reader = LedgerReader.open(self.path)
        except LedgerError as error:
            if not is_waiting_error(error):
                raise
            now = time.monotonic()
            self._uninitialised_since = self._uninitialised_since or now
            if now - self._uninitialised_since > UNINITIALISED_GRACE_SEC:
                raise LedgerError(f"{self.path} is an SQLite database but not a ledger.") from error
            return None
        return self.reader

    def version(self) -> int | None:
        """Return the ledger's data_version, or None while there is no ledger."""
        reader = self.open()
        return None if reader is None else reader.data_version()

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()
            self.reader = None


@dataclass(frozen=True)
class Overview:
    """What the Runs view shows: the active runs, then the most recent others."""

    active: tuple[RunSummary, ...]
    recent: tuple[RunSummary, ...]


def runs_overview(reader: LedgerReader, *, limit: int = 20) -> Overview:
    """Read the active runs and the latest `limit` finished ones from one snapshot."""
    with reader.snapshot():
        active = reader.active_runs()
        latest = reader.list_runs(limit=limit + len(active))
    active_ids = {run.id for run in active}
    recent = [run for run in latest if run.id not in active_ids][:limit]
    return Overview(tuple(active), tuple(recent))
