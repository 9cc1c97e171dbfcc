"""The dashboard's poll loop, without Textual: run the visible view's query when the ledger changed.

Each poll is one `PRAGMA data_version` on the long-lived connection; only when it moved (or the
view asked for fresh data) does the query run. The next poll is scheduled after the last one
finished, so polls never overlap however slow one is.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from engine.errors import LedgerError
from ledger_tui.queries import AnyQuery
from ledger_tui.watch import LedgerWatch

Target = TypeVar("Target")
Target_contra = TypeVar("Target_contra", contravariant=True)


class PollLoop:
    """Calls a blocking function in a thread every `interval` seconds, timed from the end of the
    last call, so polls never overlap however slow one is; `wake()` runs the next one at once."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.completed = 0  # polls finished; see Poller.completed
        self._wake = asyncio.Event()

    async def run(self, tick: Callable[[], None]) -> None:
        """Loop until cancelled (the dashboard runs this as an async worker)."""
        while True:
            await asyncio.to_thread(tick)
            self.completed += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()

    def wake(self) -> None:
        """Poll now (call from the event loop's thread)."""
        self._wake.set()


class PollSink(Protocol[Target_contra]):
    """Where the poller hands what it found; every method is called in the poll thread."""

    def loaded(self, target: Target_contra, payload: object) -> None: ...

    def missing(self, missing: bool) -> None: ...

    def transient(self, message: str) -> None: ...

    def fatal(self, error: LedgerError) -> None: ...


class Poller(Generic[Target]):
    """Polls one ledger for the query of whatever `watch_query` last named."""

    def __init__(
        self,
        watch: LedgerWatch,
        interval: float,
        sink: PollSink[Target],
    ) -> None:
        self.ledger_watch = watch
        self._loop = PollLoop(interval)
        self._sink = sink
        # One reference, replaced whole by the UI thread and read once per poll.
        self._watched: tuple[AnyQuery, Target] | None = None
        self._missing = False  # poll thread only
        self._last_error: str | None = None  # poll thread only

    @property
    def missing(self) -> bool:
        """Whether the ledger was missing at the last poll."""
        return self._missing

    @property
    def completed(self) -> int:
        """Polls finished so far (tests wait on this rather than sleep)."""
        return self._loop.completed

    def watch_query(self, query: AnyQuery, target: Target) -> None:
        """Run `query` from now on and hand its results on with `target` (UI thread)."""
        self._watched = (query, target)
        self._loop.wake()

    def wake(self) -> None:
        """Poll now (UI thread)."""
        self._loop.wake()

    async def run(self) -> None:
        """Poll until cancelled."""
        await self._loop.run(self.poll)

    def poll(self) -> None:
        """One poll (the poll thread)."""
        try:
            reader = self.ledger_watch.open()
        except LedgerError as error:
            self._sink.fatal(error)
            return
        if (reader is None) != self._missing:
            self._missing = reader is None
            self._sink.missing(self._missing)
        if reader is None:
            return
        watched = self._watched
        if watched is None:
            return
        query, target = watched
        try:
            version = reader.data_version()
            if not query.wants(version):
                return
            payload = query.run(reader, version)
        except LedgerError as error:
            # Transient (a locked or busy file): say it once, retry on the next poll.
            query.failed()
            if error.message != self._last_error:
                self._last_error = error.message
                self._sink.transient(error.message)
            return
        self._last_error = None
        self._sink.loaded(target, payload)
