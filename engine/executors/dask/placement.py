"""Whether any worker of the cluster can run a step that asks for `resources`.

Dask leaves a task whose resources no worker advertises in its `no-worker` state, silently and for
ever; the engine asks the scheduler before submitting such a step, and again while it waits, so the
step fails at once with `no_worker` instead (docs/distributed.md). Steps without `resources` are
never checked: they cost no extra round trip.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

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


async def watch(
    step_id: str,
    need: Mapping[str, float],
    identity: Identity,
    waiting: Callable[[], bool],
    interval: float = RECHECK_SEC,
) -> str | None:
    """The `unmet` sentence once no worker is left that could run the step while it waits.

    None as soon as `waiting()` turns false (the step was placed, or ended): a worker lost under a
    running step is the worker-loss code's concern, not this one's.
    """
    while waiting():
        await asyncio.sleep(interval)
        if not waiting():
            return None
        reason = await check(step_id, need, identity)
        if reason is not None and waiting():
            return reason
    return None
