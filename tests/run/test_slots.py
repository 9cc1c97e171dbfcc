"""The concurrency limit (engine/run/slots.py): steps start in turn, never above the limit."""

from __future__ import annotations

import asyncio
from functools import partial

from engine.run.slots import Slots


def test_starts_at_once_while_slots_are_free_then_in_turn() -> None:
    slots = Slots(2)
    started: list[str] = []
    for name in "abcd":
        slots.request(partial(started.append, name))
    assert started == ["a", "b"]
    slots.release()
    assert started == ["a", "b", "c"]
    slots.release()
    slots.release()
    assert started == ["a", "b", "c", "d"]
    slots.release()
    slots.request(lambda: started.append("e"))  # a slot is free again: no wait
    assert started[-1] == "e"


def test_a_free_slot_does_not_jump_the_queue() -> None:
    slots = Slots(1)
    started: list[str] = []
    slots.request(lambda: started.append("a"))
    slots.request(lambda: started.append("b"))
    slots.release()  # passes straight to b, so c waits behind it
    slots.request(lambda: started.append("c"))
    assert started == ["a", "b"]
    slots.release()
    assert started == ["a", "b", "c"]


async def test_acquire_waits_in_the_same_line_as_requests() -> None:
    slots = Slots(1)
    order: list[str] = []
    slots.request(lambda: order.append("first"))

    async def retry() -> None:
        await slots.acquire()
        order.append("retry")

    waiter = asyncio.create_task(retry())
    await asyncio.sleep(0)  # the retry queues behind nobody but the holder
    slots.request(lambda: order.append("later"))
    slots.release()
    await asyncio.wait_for(waiter, 5)
    assert order == ["first", "retry"]
    slots.release()
    assert order == ["first", "retry", "later"]


async def test_a_canceled_waiter_passes_its_slot_on() -> None:
    slots = Slots(1)
    order: list[str] = []
    slots.request(lambda: order.append("holder"))
    waiter = asyncio.create_task(slots.acquire())
    await asyncio.sleep(0)
    slots.request(lambda: order.append("next"))
    waiter.cancel()
    slots.release()  # the canceled waiter's turn: the slot goes on to "next"
    assert order == ["holder", "next"]
    await asyncio.gather(waiter, return_exceptions=True)
    assert waiter.cancelled()


async def test_a_waiter_canceled_after_its_grant_releases_the_slot() -> None:
    slots = Slots(1)
    order: list[str] = []
    slots.request(lambda: order.append("holder"))
    waiter = asyncio.create_task(slots.acquire())
    await asyncio.sleep(0)
    slots.release()  # granted, but the waiter has not resumed yet
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    assert waiter.cancelled()
    slots.request(lambda: order.append("after"))  # the slot came back, so this starts now
    assert order == ["holder", "after"]
