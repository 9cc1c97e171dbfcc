"""The executor seam: how the scheduler starts one attempt, waits for it, and stops it.

The scheduler hands an `Executor` a fully resolved `LaunchSpec` and gets back an `AttemptHandle`; it
learns the outcome only as an `AttemptResult`. The contract every executor keeps:

- `launch` never raises for a step's own fault (command not found, permission denied, bad cwd): the
  handle's `wait` returns a result with `spawn_error` set to one sentence, which is also appended to
  the log.
- stdout and stderr go, merged, to `spec.log_path`, appended in chunks, never held whole in memory;
  secret values in `spec.mask_values` are replaced by `***` before anything reaches the log or the
  tail. Output that could not be written (a full disk) is reported in `log_error`, never dropped
  silently.
- `wait` enforces `spec.timeout_sec` (terminate with `spec.kill_grace_sec`, then kill;
  `timed_out=True`) and returns only once nothing the attempt started is left running.
- `terminate` and `kill` reach every process of the attempt, not just the first one, and mark it
  `canceled`.
- An executor knows nothing of retries, the ledger or SQL: the scheduler decides what a result
  means.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class LaunchSpec:
    """Everything needed to start one attempt, already resolved (no `${...}` left)."""

    run_id: str
    step_id: str
    attempt: int
    argv: tuple[str, ...]  # `shell: true` is turned into ("/bin/sh", "-c", cmd) by the caller
    cwd: str | None
    env: Mapping[str, str]  # the complete environment of the child
    # stdout+stderr, merged, appended in chunks; the scheduler passes a str (no pathlib per step).
    log_path: str | os.PathLike[str]
    timeout_sec: float | None
    kill_grace_sec: float
    mask_values: tuple[str, ...] = ()  # secret values to replace by *** in the log and tail
    # A script step's (path, text): written before the spawn; argv runs its interpreter on it.
    script: tuple[str, str] | None = None


@dataclass(frozen=True)
class Placed:
    """Where and when a cluster started an attempt that was submitted to it earlier."""

    at: float  # time.time() of the engine's clock when it learnt it, never the worker's
    host: str | None
    worker: str | None  # the executor's name for it (a Dask worker's address)
    pid: int | None  # of the main process, on that host


@dataclass(frozen=True)
class AttemptResult:
    """How one attempt ended, as the executor saw it; the scheduler maps it to a status."""

    exit_code: int | None  # None when killed by a signal or never started
    signal: int | None  # the signal that ended the main process, if any
    timed_out: bool
    canceled: bool
    spawn_error: str | None  # one sentence when the process could not be started
    pid: int | None
    started_at: float  # time.time()
    finished_at: float
    output_tail: str  # the last few KB of the (masked) log, decoded with errors="replace"
    # Set when the log could not be written in full (e.g. "No space left on device"): output lost.
    log_error: str | None = None
    log_bytes_lost: int | None = None  # how many bytes were lost, when the engine wrote the log
    # CPU time and peak memory of the main process and the descendants it waited for (rusage from
    # wait4); None when it never started or someone else reaped it.
    cpu_user_ms: int | None = None
    cpu_sys_ms: int | None = None
    max_rss_kb: int | None = None  # of the largest single process among those, not their sum
    # With spawn_error: it never started because no cluster worker has the resources it asks for.
    no_worker: bool = False
    # One sentence when the attempt's fate is unknown: the machine running it was lost (a Dask
    # worker died or left, the scheduler went away). Its command may have run, or part of it.
    lost: str | None = None


class Executor(Protocol):
    """Starts attempts; one instance serves a whole run (and may cache per-run state)."""

    async def launch(self, spec: LaunchSpec) -> AttemptHandle: ...

    def close(self) -> None:
        """Releases what the executor holds once the run is over; running attempts go on."""
        ...


class AttemptHandle(Protocol):
    """One started (or failed-to-start) attempt."""

    pid: int | None

    async def wait(self) -> AttemptResult:
        """Waits for the end of the attempt, enforcing `spec.timeout_sec`; callable repeatedly."""
        ...

    async def terminate(self, grace_sec: float) -> None:
        """TERMs every process of the attempt, KILLs the rest after `grace_sec`; marks canceled."""
        ...

    def kill(self) -> None:
        """KILLs every process of the attempt at once (the second Ctrl-C); marks it canceled."""
        ...

    @property
    def deadline(self) -> float | None:
        """When (a `time.time()`) its timeout stops it; None without a timeout or once over."""
        ...

    def extend_timeout(self, until: float) -> str | Awaitable[str | None] | None:
        """Move its timeout later, to `until`; why not, when it cannot be (none, or too late).

        Awaitable where the timeout is kept elsewhere (a Dask worker): the answer takes a trip.
        """
        ...
