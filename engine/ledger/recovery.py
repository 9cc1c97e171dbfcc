"""Crash recovery: runs whose engine is provably gone become `crashed`, and their leftovers die.

Called by every `engine` command (and the dashboard) when it opens the ledger. It only reads
through `LedgerReader` and writes through `maintenance.mark_run_crashed`, so it owns no SQL.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from engine.ledger.maintenance import mark_run_crashed
from engine.ledger.reader import LedgerReader
from engine.ledger.records import Attempt
from engine.states import AttemptStatus

if TYPE_CHECKING:
    import psutil  # imported where processes are inspected: most commands never need it (~7 ms)

RUN_ID_ENV = "ENGINE_RUN_ID"
# psutil reads a start time as boot time (whole seconds, /proc/stat) plus clock ticks, so it can
# differ from the time.time() the engine recorded by up to a second.
_CLOCK_SLACK_SEC = 1.0
_KILL_WAIT_SEC = 2.0


def reconcile(reader: LedgerReader) -> list[str]:
    """Mark the active runs whose owner is gone as crashed, after killing their step processes.

    Returns the ids of the runs this call marked; another process recovering the same run at the
    same moment is harmless (killing is idempotent, marking happens once).
    """
    crashed: list[str] = []
    for summary in reader.active_runs():
        detail = reader.get_run(summary.id)
        owner = None if detail is None else detail.owner
        if owner is None or not owner.is_gone():
            continue
        open_attempts = [
            a for a in reader.attempts(summary.id) if a.status is AttemptStatus.RUNNING
        ]
        kill_leftovers(summary.id, open_attempts)
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


def kill_leftovers(run_id: str, attempts: Iterable[Attempt]) -> list[int]:
    """SIGKILL the process groups of `attempts` provably belonging to `run_id`; return the pids."""
    victims: list[psutil.Process] = []
    for attempt in attempts:
        if attempt.pid is None:
            continue
        for process in _owned_processes(run_id, attempt):
            try:
                os.killpg(os.getpgid(process.pid), signal.SIGKILL)
            except ProcessLookupError:
                continue
            victims.append(process)
    _wait_gone(victims)
    return [p.pid for p in victims]


def _owned_processes(run_id: str, attempt: Attempt) -> list[psutil.Process]:
    """The attempt's session leader if provably ours, else the members of its session that are.

    Proof: the step was started with `start_new_session`, so its pid is its session id; it was
    created no later than the attempt's recorded start (a reused pid is younger); and its
    environment carries this run's id, which the scheduler sets for every attempt.
    """
    import psutil

    assert attempt.pid is not None
    try:
        leader = psutil.Process(attempt.pid)
        if leader.status() != psutil.STATUS_ZOMBIE:
            return [leader] if _belongs(leader, run_id, attempt) else []
    except psutil.NoSuchProcess:
        pass
    except psutil.Error:
        return []
    # The leader exited but its children may live on in its session and group.
    members: list[psutil.Process] = []
    for process in psutil.process_iter():
        try:
            if os.getsid(process.pid) != attempt.pid or process.pid == attempt.pid:
                continue
            if process.create_time() + _CLOCK_SLACK_SEC < attempt.started_at:
                continue  # older than the attempt: cannot descend from it
            if process.environ().get(RUN_ID_ENV) == run_id:
                members.append(process)
        except (psutil.Error, OSError):
            continue
    return members


def _belongs(process: psutil.Process, run_id: str, attempt: Attempt) -> bool:
    import psutil

    try:
        return (
            os.getsid(process.pid) == attempt.pid
            and process.create_time() <= attempt.started_at + _CLOCK_SLACK_SEC
            and process.environ().get(RUN_ID_ENV) == run_id
        )
    except (psutil.Error, OSError):
        return False


def _wait_gone(processes: list[psutil.Process]) -> None:
    """Wait briefly until the killed processes are gone (zombies count as gone)."""
    import psutil

    deadline = time.monotonic() + _KILL_WAIT_SEC
    pending = list(processes)
    while pending and time.monotonic() < deadline:
        still = []
        for process in pending:
            try:
                if process.status() != psutil.STATUS_ZOMBIE:
                    still.append(process)
            except psutil.Error:
                continue
        pending = still
        if pending:
            time.sleep(0.02)
