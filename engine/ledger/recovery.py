"""Crash recovery: runs whose engine is provably gone become `crashed`, and their leftovers die.

Called by every `engine` command when it opens the ledger, never by the dashboard (a reader:
docs/architecture.md, "Where recovery lives and who may call it"). It reads through `LedgerReader`
and writes through `maintenance.mark_run_crashed`, so it owns no SQL; finding and killing the
processes is `engine.processes.leftovers`' job.
"""

from __future__ import annotations

import time
from pathlib import Path

from engine.ledger.maintenance import mark_run_crashed
from engine.ledger.reader import LedgerReader
from engine.ledger.scratch import remove_run_scratch


def reconcile(reader: LedgerReader) -> list[str]:
    """Mark the active runs whose owner is gone as crashed, after killing their processes.

    Returns the ids of the runs this call marked; another process recovering the same run at the
    same moment is harmless (killing is idempotent, marking happens once).
    """
    crashed: list[str] = []
    for summary in reader.active_runs():
        detail = reader.get_run(summary.id)
        owner = None if detail is None else detail.owner
        if owner is None or not owner.is_gone():
            continue
        # psutil (~7 ms) is imported only here, when a run really has to be recovered.
        from engine.processes.leftovers import kill_run_processes

        # Every process of the run, whether or not its attempt row was committed before the crash.
        kill_run_processes(summary.id, since=summary.created_at)
        # What its steps wrote there, secrets included: gone even if the ledger cannot be written.
        remove_run_scratch(reader.path, summary.id)
        error = f"the engine that ran it (pid {owner.pid} on {owner.host}) is gone"
        if mark_run_crashed(reader.path, summary.id, at=time.time(), error=error):
            crashed.append(summary.id)
    return crashed


def reconcile_path(path: Path) -> list[str]:
    """Reconcile the ledger at `path`, if it exists (see `reconcile`)."""
    if not path.exists():
        return []
    with LedgerReader.open(path) as reader:
        return reconcile(reader)
