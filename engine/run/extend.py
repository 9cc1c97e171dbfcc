"""`engine extend`, as the engine running the run answers it: a later deadline, or why not.

Requests arrive through the ledger like cancel requests (engine.ledger.extend) and are answered
within a poll. What is extended is the run's timeout (its `globals.timeout_sec` and `--deadline`)
or a running step's current attempt; a timeout that already fired cannot be taken back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from engine.humanize import clock_time
from engine.ledger.extend import MAX_AHEAD_SEC, PENDING, ExtendRequest, extend_request
from engine.ledger.times import to_iso
from engine.run.recorder import Recorder
from engine.states import EventType

POLL_SEC = 0.25


class Extendable(Protocol):
    """What has a timeout that can be moved later: the run's, or a running attempt's."""

    @property
    def deadline(self) -> float | None: ...

    def extend_timeout(self, until: float) -> str | Awaitable[str | None] | None: ...


Targets = Callable[[str | None], Extendable | None]  # step id (None: the run) -> what to extend


async def poll_extend_requests(recorder: Recorder, targets: Targets) -> None:
    """Answer `engine extend` requests for this run, each once, within a poll."""
    answered: set[int] = set()  # answered, but the answer may not be committed yet
    while True:
        await asyncio.sleep(POLL_SEC)
        for row in await recorder.writer.read(PENDING, (recorder.run_id,)):
            request = extend_request(row)
            if request.id not in answered:
                answered.add(request.id)
                # In turn: a remote attempt's answer comes from its worker, and the next request
                # must see the deadline this one moved.
                await answer(recorder, request, targets(request.step_id))


async def answer(recorder: Recorder, request: ExtendRequest, target: Extendable | None) -> None:
    """Extend what the request names, or refuse; record the answer (and the event) together."""
    what = f"run {request.run_id}" if request.step_id is None else f"step {request.step_id}"
    now = time.time()
    current = None if target is None else target.deadline
    until = request.target(now if current is None else current)
    if target is None:
        why: str | None = "it is not running"
    elif until <= now:
        why = f"{clock_time(until)} UTC is already past"
    elif until > now + MAX_AHEAD_SEC:
        why = "it would end more than 366 days from now"
    else:
        asked = target.extend_timeout(until)
        why = asked if asked is None or isinstance(asked, str) else await asked
    if why is not None:
        message = f"the timeout of {what} was not extended: {why}"
        recorder.writer.extend_handled(
            request_id=request.id, at=now, outcome="refused", deadline=None, message=message
        )
        return
    assert current is not None  # extend_timeout refuses what has no deadline
    message = (
        f"the timeout of {what} now ends at {clock_time(until)} UTC (was {clock_time(current)})"
    )
    recorder.writer.extend_handled(
        request_id=request.id, at=now, outcome="extended", deadline=until, message=message
    )
    recorder.event(
        EventType.TIMEOUT_EXTENDED,
        request.step_id,
        data={
            "request_id": request.id,
            "requested_by": request.requested_by,
            "previous_deadline": to_iso(current),
            "deadline": to_iso(until),
        },
    )
