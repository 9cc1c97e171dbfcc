"""After a crash: find every process a dead engine's run left behind, and kill it.

The engine is gone, so nothing holds its steps as children any more and the ledger may not even
know a step's pid (kill -9 between the spawn and the commit of the attempt row). So the whole
process table is scanned: a process belongs to the run if its environment carries the run's id
and it was created after the run began (`engine.processes.identity`). Scanning, not following
recorded pids, is what finds such a step, its grandchildren, and processes that left its session.
"""

from __future__ import annotations

import os
import time

import psutil

from engine.processes.identity import RUN_ID_ENV

# psutil reads a start time as boot time (whole seconds, /proc/stat) plus clock ticks, so it can
# differ from the time.time() the engine recorded by up to a second.
CLOCK_SLACK_SEC = 1.0
_KILL_WAIT_SEC = 2.0
# A leftover may fork while we scan: scan again until a pass finds nothing (bounded).
_MAX_PASSES = 5


def run_processes(run_id: str, since: float) -> list[psutil.Process]:
    """The live processes whose environment carries `run_id` and that were created after `since`."""
    me = os.getpid()
    found: list[psutil.Process] = []
    for process in psutil.process_iter():
        try:
            if process.pid == me or process.create_time() + CLOCK_SLACK_SEC < since:
                continue  # older than the run: it cannot have been started by it
            if process.environ().get(RUN_ID_ENV) != run_id:
                continue
            if process.status() == psutil.STATUS_ZOMBIE:
                continue
        except (psutil.Error, OSError):
            continue  # exited while we looked, or not ours to read (another user's)
        found.append(process)
    return found


def kill_run_processes(run_id: str, since: float) -> list[int]:
    """SIGKILLs every process of the run (see `run_processes`); returns their pids."""
    killed: list[int] = []
    for _ in range(_MAX_PASSES):
        victims = run_processes(run_id, since)
        if not victims:
            break
        for process in victims:
            try:
                process.kill()  # psutil refuses a pid reused since it was looked up
            except psutil.Error:
                continue
            killed.append(process.pid)
        _wait_gone(victims)
    return killed


def _wait_gone(processes: list[psutil.Process]) -> None:
    """Waits briefly until the killed processes are gone (zombies count as gone)."""
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
