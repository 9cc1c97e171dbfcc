"""What stops a run before its steps are done: the first cause kept, the run's timeout and deadline.

A run's limits move later while it runs (`engine extend`), so they are timers owned here rather
than a fixed number handed to the scheduler.
"""

from __future__ import annotations

import asyncio
import time

from engine.ledger.times import to_iso
from engine.run.scheduler import Scheduler
from engine.states import RunStatus


class StopCause:
    """What stopped a run before its steps were done, for the API's error code."""

    CANCELED = "canceled"
    TIMEOUT = "timeout"
    DEADLINE = "deadline_exceeded"


class Stopper:
    """Stops the scheduler and remembers why the first stop came (the scheduler keeps the first)."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self.cause: str | None = None

    def stop(self, cause: str, reason: str, outcome: RunStatus) -> None:
        if self.cause is None:
            self.cause = cause
        self.scheduler.stop(reason, outcome)


class RunTimeout:
    """The plan's `timeout_sec` and the caller's deadline: whichever comes first fails the run.

    `engine extend` moves them later (engine.run.extend); a timeout that fired stays fired.
    """

    def __init__(self, stop: Stopper, timeout_sec: float | None, deadline: float | None) -> None:
        self._stop = stop
        self._timeout = timeout_sec
        self._deadline = deadline
        self._ends: dict[str, float] = {}  # "timeout", "deadline" -> when it fires (time.time())
        self._handles: dict[str, asyncio.TimerHandle] = {}
        self._extended = False
        self._running = False

    def _expire(self) -> None:
        after = f"after {self._timeout:g}s"
        if self._extended:
            after = f"at {to_iso(self._ends['timeout'])} (its timeout was extended)"
        self._stop.stop(StopCause.TIMEOUT, f"run timed out {after}", RunStatus.FAILED)

    def _deadline_reached(self) -> None:
        reason = f"deadline {to_iso(self._ends['deadline'])} reached"
        self._stop.stop(StopCause.DEADLINE, reason, RunStatus.FAILED)

    def _schedule(self, kind: str, at: float) -> None:
        if (earlier := self._handles.get(kind)) is not None:
            earlier.cancel()
        fire = self._expire if kind == "timeout" else self._deadline_reached
        delay = max(0.0, at - time.time())
        self._handles[kind] = asyncio.get_running_loop().call_later(delay, fire)
        self._ends[kind] = at

    @property
    def deadline(self) -> float | None:
        """When the run is cut, while it runs and nothing stopped it yet."""
        if not self._running or self._stop.scheduler.stop_reason is not None:
            return None
        return min(self._ends.values(), default=None)

    def extend_timeout(self, until: float) -> str | None:
        """Move every limit earlier than `until` to `until`; why not, if the run cannot be."""
        if not self._running:
            return "it has not started (it waits for its concurrency group)"
        if self._stop.scheduler.stop_reason is not None:
            return f"it is stopping already ({self._stop.scheduler.stop_reason})"
        if not self._ends:
            return "it has no timeout (globals.timeout_sec or --deadline)"
        if until <= min(self._ends.values()):
            return "that would not lengthen its timeout"
        for kind, end in list(self._ends.items()):
            if end < until:
                self._schedule(kind, until)
        self._extended = True
        return None

    def __enter__(self) -> None:
        self._running = True
        if self._timeout is not None:
            self._schedule("timeout", time.time() + self._timeout)
        if self._deadline is not None:
            self._schedule("deadline", self._deadline)

    def __exit__(self, *_: object) -> None:
        self._running = False
        for handle in self._handles.values():
            handle.cancel()
