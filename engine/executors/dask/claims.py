"""The at-most-once claims a Dask scheduler keeps for each run: stamped while its engine lives,
forgotten by the next engine to connect once it has not been stamped for a while.

A worker claims a task key in the scheduler's metadata before it starts the step (remote.py), so
that a task Dask runs again (its worker died or left) is refused. A run's claims matter only while
its tasks exist, that is while its engine is connected: the scheduler releases a departed client's
tasks. An engine that ends cleanly forgets its runs' claims (executor.py); one that was killed
cannot, so a run's claims carry the time its engine last said it runs, renewed every minute, and
an engine connecting to the scheduler forgets the claims of runs not renewed for ten minutes. The
times are the engines' clocks: engines sharing a scheduler should agree within minutes (NTP).
The scheduler's metadata can replace an entry but not delete it: a forgotten run leaves its id,
mapped to None.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from typing import Any

from engine.executors.dask.remote import CLAIMS

ALIVE = "alive"  # in a run's claims, beside its task keys (pe-...): when its engine last stamped
STAMP_EVERY_SEC = 60.0
EXPIRE_SEC = 600.0
ASK_TIMEOUT_SEC = 30.0

Scheduler = Callable[[], Any]  # the client's scheduler RPC, once connected


def stale(claims: object, now: float, expire: float = EXPIRE_SEC) -> bool:
    """Whether a run's claims outlived its engine: not stamped for `expire` seconds (or never,
    as left by an engine before stamps existed). None is a run already forgotten."""
    if not isinstance(claims, Mapping):
        return False
    stamped = claims.get(ALIVE)
    return not isinstance(stamped, int | float) or now - stamped > expire


async def sweep(scheduler: Any, now: float | None = None) -> list[str]:
    """Forgets the claims of every run whose engine stopped stamping them; their run ids."""
    every = await scheduler.get_metadata(keys=[CLAIMS], default=None)
    if not isinstance(every, Mapping):
        return []
    when = time.time() if now is None else now
    gone = [run_id for run_id, claims in every.items() if stale(claims, when)]
    for run_id in gone:
        await scheduler.set_metadata(keys=[CLAIMS, run_id], value=None)
    return gone


class Stamps:
    """Renews the stamp of this engine's runs every minute, from their first step on the cluster."""

    def __init__(self, scheduler: Scheduler) -> None:
        self._scheduler = scheduler
        self._first: dict[str, asyncio.Future[None]] = {}  # run id -> its first stamp
        self._loop: asyncio.Task[None] | None = None

    async def stamped(self, run_id: str) -> None:
        """Returns once the run is stamped: before any of its tasks is submitted, so no sweep
        finds its claims unstamped. Only a run's first call waits (one scheduler round trip),
        and its other steps' launches wait for the same stamp, in their order."""
        first = self._first.get(run_id)
        if first is None:
            first = self._first[run_id] = asyncio.ensure_future(self._stamp(run_id))
            if self._loop is None:
                self._loop = asyncio.ensure_future(self._renew())
        if not first.done():
            await asyncio.shield(first)

    def close(self) -> None:
        if self._loop is not None:
            self._loop.cancel()

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(STAMP_EVERY_SEC)
            for run_id in list(self._first):
                await self._stamp(run_id)

    async def _stamp(self, run_id: str) -> None:
        with contextlib.suppress(Exception):  # a lost scheduler took the claims with it
            stamped = self._scheduler().set_metadata(
                keys=[CLAIMS, run_id, ALIVE], value=time.time()
            )
            await asyncio.wait_for(stamped, ASK_TIMEOUT_SEC)
