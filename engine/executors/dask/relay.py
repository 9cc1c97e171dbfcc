"""The scheduler passes each engine's events on and keeps none of them.

A worker tells its engine about a step through a Dask event on the engine's own topic: `start`
(where a step that runs a while began) and `end` (a short step's whole result, so the engine needs
no gather round trip through the scheduler to the worker; remote.py). Dask's scheduler keeps the
last 1,000 events of every topic for as long as it lives, and an `end` event can carry up to a
MiB of log: this plugin drops each of ours once it has been sent to the subscribed engine.
"""

from __future__ import annotations

from typing import Any

from distributed.diagnostics.plugin import SchedulerPlugin

TOPIC_PREFIX = "plan-engine-"  # an engine's topic: this prefix and its Dask client's id


class EventRelay(SchedulerPlugin):
    """Empties a plan-engine topic as soon as its event has gone to its subscribers."""

    name = "plan-engine-event-relay"
    idempotent = True  # every engine registers it; one is enough

    def __init__(self) -> None:
        self._scheduler: Any = None

    async def start(self, scheduler: Any) -> None:
        self._scheduler = scheduler

    def log_event(self, topic: str, msg: Any) -> None:
        # Called after the event went to the topic's subscribers. The broker is Dask's own
        # (`Scheduler.get_events` reads it); it has no public way to drop events.
        if topic.startswith(TOPIC_PREFIX) and self._scheduler is not None:
            self._scheduler._broker.truncate(topic)
