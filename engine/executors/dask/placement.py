"""Whether any worker of the cluster can run a step that asks for `resources`.

Dask leaves a task whose resources no worker advertises in its `no-worker` state, silently and for
ever; the engine asks the scheduler before submitting such a step, and again while it waits, so the
step fails at once with `no_worker` instead (docs/distributed.md). Steps without `resources` are
never checked: they cost no extra round trip.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

# How often a queued step that asks for resources looks whether a capable worker is still there.
RECHECK_SEC = 1.0


def describe(resources: Mapping[str, float]) -> str:
    """`gpu=1, mem_gb=8`: resources as `dask worker --resources` spells them."""
    return ", ".join(f"{name}={amount:g}" for name, amount in sorted(resources.items()))


def unmet(
    step_id: str, need: Mapping[str, float], workers: Mapping[str, Mapping[str, Any]]
) -> str | None:
    """Why no worker can run the step (one sentence), or None when one can.

    `workers` is the scheduler's identity: address -> info with a `resources` mapping, the total
    each worker advertises (not what is free now: a busy worker will run the step later).
    """
    if not need:
        return None
    for info in workers.values():
        offered = info.get("resources") or {}
        if all(offered.get(name, 0) >= amount for name, amount in need.items()):
            return None
    if not workers:
        offers = "the cluster has no worker"
    else:
        kinds = sorted({describe(info.get("resources") or {}) for info in workers.values()})
        offers = "its workers offer " + "; ".join(kind or "no resources" for kind in kinds)
    return (
        f'no worker of the cluster has the resources step "{step_id}" asks for '
        f"({describe(need)}): {offers}"
    )


Identity = Callable[[], Awaitable[Mapping[str, Any]]]


async def check(step_id: str, need: Mapping[str, float], identity: Identity) -> str | None:
    """`unmet` against the scheduler's current workers; `identity` is the scheduler RPC."""
    if not need:
        return None
    info = await identity()
    return unmet(step_id, need, info.get("workers") or {})


class Watched(Protocol):
    """What the watch needs of an attempt (DaskAttempt)."""

    worker: str | None  # where it was placed; None while it waits in Dask's queue

    def waiting(self) -> bool: ...

    def ended(self) -> bool: ...

    def no_worker(self, reason: str) -> None: ...

    def worker_gone(self, reason: str) -> None: ...


class Watch:
    """Looks, about once a second, whether each attempt that asks for resources can still run.

    One loop (one scheduler round trip a second) for all of a run's such attempts, and none while
    there are none. Dask keeps a task that no worker can run in its `no-worker` state for ever:
    a queued one ends with `no_worker`; a placed one whose worker has left (Dask re-queues it,
    and no other worker will ever claim it) ends as lost.
    """

    def __init__(self, identity: Identity, interval: float = RECHECK_SEC) -> None:
        self._identity = identity
        self._interval = interval
        self._watched: dict[str, tuple[str, Mapping[str, float], Watched]] = {}
        self._loop: asyncio.Task[None] | None = None

    def add(self, key: str, step_id: str, need: Mapping[str, float], attempt: Watched) -> None:
        self._watched[key] = (step_id, need, attempt)
        if self._loop is None or self._loop.done():
            self._loop = asyncio.ensure_future(self._run())

    def close(self) -> None:
        if self._loop is not None:
            self._loop.cancel()

    async def _run(self) -> None:
        while self._watched:
            await asyncio.sleep(self._interval)
            for key, (_, _, attempt) in list(self._watched.items()):
                if attempt.ended():
                    del self._watched[key]
            if not self._watched:
                return
            try:
                workers = (await self._identity()).get("workers") or {}
            except Exception:  # a lost scheduler ends every attempt by itself
                continue
            for step_id, need, attempt in list(self._watched.values()):
                reason = unmet(step_id, need, workers)
                if reason is None or attempt.ended():
                    continue
                if attempt.waiting():
                    attempt.no_worker(reason)
                elif attempt.worker is not None and attempt.worker not in workers:
                    attempt.worker_gone(reason)
