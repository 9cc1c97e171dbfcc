"""Waiting for a concurrency group or a pool shared with every other run on the ledger.

The ledger decides who holds what (engine.ledger.leases, one `BEGIN IMMEDIATE` transaction per
decision); this module asks, waits and tells the recorder. One poller per run retries all of its
waiting leases together, and while it waits it runs crash recovery now and then: a holder killed
with -9 never releases its lease itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from engine.ledger import leases
from engine.ledger.leases import GROUP, POOL
from engine.plan.spec import Plan
from engine.run.recorder import Recorder
from engine.states import EventType

if TYPE_CHECKING:
    from engine.run.attempt_loop import AttemptLoop
    from engine.run.state import ScheduledStep

POLL_SEC = 0.2  # how soon a freed slot is taken by a waiter in another engine
RECOVER_EVERY_SEC = 1.0  # how often a waiting engine looks for dead holders

__all__ = ["GROUP", "POOL", "LeaseBroker", "busy_message", "group_waiting", "pool_waiting"]

OnWait = Callable[[tuple[str, ...]], None]  # told the holders when it starts or they change


@dataclass
class _Waiter:
    granted: asyncio.Future[bool]
    on_wait: OnWait
    holders: tuple[str, ...] = field(default_factory=tuple)


class LeaseBroker:
    """Acquires and releases one run's leases; waiters are served first come, first served."""

    def __init__(self, recorder: Recorder) -> None:
        self._recorder = recorder
        self._writer = recorder.writer
        self._waiting: dict[int, _Waiter] = {}
        self._poller: asyncio.Task[None] | None = None
        self._poke = asyncio.Event()  # a slot of ours was released: ask again now

    async def acquire(
        self,
        *,
        kind: str,
        name: str,
        capacity: int,
        step_id: str | None,
        on_wait: OnWait,
        give_up: Callable[[], bool],
        wait: bool = True,
        cancel_others_as: str | None = None,
    ) -> tuple[int | None, tuple[str, ...]]:
        """Hold a slot of `name`: its lease id, or None (and who holds it) if not acquired.

        Not acquired when `wait` is false and the name is full, or once `give_up()` is true.
        """
        request = functools.partial(
            leases.request, kind=kind, name=name, capacity=capacity,
            run_id=self._recorder.run_id, step_id=step_id, at=time.time(),
            cancel_others_as=cancel_others_as,
        )  # fmt: skip
        grant = await self._writer.transact(request)
        if grant.acquired:
            return grant.lease_id, ()
        if not wait:
            self.release(grant.lease_id)
            return None, grant.holders
        on_wait(grant.holders)
        waiter = _Waiter(asyncio.get_running_loop().create_future(), on_wait, grant.holders)
        self._waiting[grant.lease_id] = waiter
        if self._poller is None or self._poller.done():
            self._poller = asyncio.ensure_future(self._poll())
        try:
            while not waiter.granted.done():
                if give_up():
                    break
                await asyncio.wait([waiter.granted], timeout=POLL_SEC)
        finally:
            self._waiting.pop(grant.lease_id, None)
        if waiter.granted.done() and waiter.granted.result():
            return grant.lease_id, ()
        self.release(grant.lease_id)  # withdrawn; or granted a moment too late
        return None, waiter.holders

    def release(self, lease_id: int) -> None:
        """Give a slot back (or withdraw from the queue), committed with the next records."""
        self._writer.release_lease(lease_id=lease_id, at=time.time())
        if self._waiting:
            self._poke.set()

    def close(self) -> None:
        """Stop polling; what is still waiting has given up by now."""
        if self._poller is not None:
            self._poller.cancel()

    async def _poll(self) -> None:
        loop = asyncio.get_running_loop()
        last_recovery = loop.time()
        while self._waiting:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poke.wait(), POLL_SEC)
            self._poke.clear()
            ids = sorted(self._waiting)
            grants = await self._writer.transact(
                functools.partial(leases.try_acquire, lease_ids=ids, at=time.time())
            )
            for grant in grants:
                waiter = self._waiting.get(grant.lease_id)
                if waiter is None or waiter.granted.done():
                    continue
                if grant.acquired or grant.released:
                    waiter.granted.set_result(grant.acquired)
                elif grant.holders != waiter.holders:
                    waiter.holders = grant.holders
                    waiter.on_wait(grant.holders)
            if self._waiting and loop.time() - last_recovery >= RECOVER_EVERY_SEC:
                last_recovery = loop.time()
                from engine.ledger.recovery import reconcile_path

                await asyncio.to_thread(reconcile_path, self._writer.path)


def _runs(holders: tuple[str, ...]) -> str:
    if not holders:
        return "runs ahead of it in the queue"
    return ("run " if len(holders) == 1 else "runs ") + ", ".join(holders)


def group_waiting(recorder: Recorder, group: str) -> OnWait:
    """Records (and shows) that the run waits for its concurrency group, and for whom."""

    def on_wait(holders: tuple[str, ...]) -> None:
        recorder.event(
            EventType.RUN_WAITING,
            data={
                "concurrency_group": group,
                "waits_for": list(holders),
                "reason": f'concurrency group "{group}" is held by {_runs(holders)}',
            },
        )

    return on_wait


def pool_waiting(recorder: Recorder, step_id: str, pool: str, capacity: int) -> OnWait:
    """Records (and shows) that a step waits for a slot of its pool, and which runs hold them."""

    def on_wait(holders: tuple[str, ...]) -> None:
        recorder.event(
            EventType.STEP_WAITING,
            step_id,
            data={
                "pool": pool,
                "waits_for": list(holders),
                "reason": f'pool "{pool}" is full ({capacity} held by {_runs(holders)})',
            },
        )

    return on_wait


def busy_message(group: str, holders: tuple[str, ...]) -> str:
    """The one sentence of `engine run --no-wait` when the group is taken."""
    return f'concurrency group "{group}" is held by {_runs(holders)}; not waiting (--no-wait)'


async def acquire_pool(
    leases: LeaseBroker, plan: Plan, recorder: Recorder, step: ScheduledStep, attempts: AttemptLoop
) -> int | None:
    """Waits for a slot of `step`'s pool (shared by every run on the ledger); its lease id.

    A step that gives up waiting (canceled, or the run stopped) goes on without the pool: the
    attempt loop finds it may not start and records why, as for any other step.
    """
    pool = step.spec.pool
    assert pool is not None
    capacity = plan.pools[pool]
    lease, _ = await leases.acquire(
        kind=POOL, name=pool, capacity=capacity, step_id=step.id,
        on_wait=pool_waiting(recorder, step.id, pool, capacity),
        give_up=functools.partial(attempts.gives_up, step),
    )  # fmt: skip
    return lease
