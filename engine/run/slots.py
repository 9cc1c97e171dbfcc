"""The run's concurrency limit: a queue of steps waiting for a slot.

A ready step gets its task only once a slot is free, and a freed slot passes straight to the next
step in line. An `asyncio.Semaphore` would have every ready step's task parked on it, 10,000 of them
for a wide plan, each woken in turn: 6 MB more for 10,000 steps, and 2-3% slower on average on
`bench/bench_run.py` (a) and (c), within that machine's noise (docs/architecture.md).
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import Callable

from engine.plan.spec import LoadedPlan


def concurrency_limit(loaded: LoadedPlan, override: int | None) -> int:
    """The run's limit: --max-concurrency, else the plan's, else one step per CPU.

    The one default: `engine run` and `engine run --dry-run` both ask here.
    """
    return override or loaded.plan.globals.max_concurrency or os.cpu_count() or 2


class Slots:
    def __init__(self, size: int) -> None:
        self._free = size
        self._queue: deque[Callable[[], None]] = deque()

    def request(self, start: Callable[[], None]) -> None:
        """Call `start` with a slot held for it: now if one is free, else when its turn comes.
        Whoever `start` hands the slot to calls `release` once."""
        if self._free and not self._queue:
            self._free -= 1
            start()
        else:
            self._queue.append(start)

    def release(self) -> None:
        if self._queue:
            self._queue.popleft()()
        else:
            self._free += 1

    async def acquire(self) -> None:
        """Wait in line for a slot, as a step does again for its next attempt after a retry."""
        granted = asyncio.get_running_loop().create_future()

        def grant() -> None:
            if granted.cancelled():
                self.release()  # its waiter went away: the next one in line has the slot
            else:
                granted.set_result(None)

        self.request(grant)
        try:
            await granted
        except asyncio.CancelledError:
            if not granted.cancelled():  # the slot came, then the cancel, before it resumed
                self.release()
            raise
