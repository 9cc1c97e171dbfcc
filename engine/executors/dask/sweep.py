"""Kills the steps that a dead Dask worker left running on this host.

A step leads its own session, so when its worker is killed (kill -9, the OOM killer) nothing
stops it: its worker cannot, and Dask does not know it exists. Every step a worker starts carries
`ENGINE_DASK_WORKER=<worker pid>:<its start time>` in its environment, inherited by all it starts;
a worker sweeps the host at its start and every few seconds, killing the process groups of steps
whose worker is gone (as `engine.processes.leftovers` does for a dead engine's run).
"""

from __future__ import annotations

import contextlib
import os
import signal

import psutil

WORKER_ENV = "ENGINE_DASK_WORKER"
SWEEP_EVERY_SEC = 5.0


def worker_mark() -> str:
    """This worker process's mark: its pid and start time (a pid alone may be reused)."""
    return f"{os.getpid()}:{psutil.Process().create_time():.2f}"


def _alive(mark: str) -> bool:
    pid_text, _, created = mark.partition(":")
    try:
        worker = psutil.Process(int(pid_text))
        # A killed worker stays a zombie until its parent reaps it: dead all the same.
        return f"{worker.create_time():.2f}" == created and worker.status() != psutil.STATUS_ZOMBIE
    except (psutil.Error, ValueError):
        return False


def sweep() -> list[int]:
    """Kills (SIGKILL, whole group) every step process of a dead worker; the pids it killed."""
    me = os.getpid()
    killed: list[int] = []
    for process in psutil.process_iter():
        try:
            if process.pid == me:
                continue
            mark = process.environ().get(WORKER_ENV)
            if mark is None or _alive(mark) or process.status() == psutil.STATUS_ZOMBIE:
                continue
            pgid = os.getpgid(process.pid)
        except (psutil.Error, OSError):
            continue  # exited while we looked, or not ours to read
        with contextlib.suppress(OSError):
            if pgid != os.getpgid(0):  # never our own group, whatever the environment says
                os.killpg(pgid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.kill(process.pid, signal.SIGKILL)
        killed.append(process.pid)
    return killed
