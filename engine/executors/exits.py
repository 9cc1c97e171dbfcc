"""Learning that a child exited: its pidfd in one epoll set that the event loop watches as a whole.

`loop.add_reader` per attempt costs ~20 µs through asyncio's selector bookkeeping (a key, a
handle, a transport check, and a KeyError raised inside `add_reader` for every new descriptor);
registering a pidfd in a private epoll set is one system call. The set's own descriptor is the
loop's only reader here, for the whole run.
"""

from __future__ import annotations

import asyncio
import select
from collections.abc import Callable


class ExitWatcher:
    """Calls a callback once a watched pidfd turns readable (its process exited).

    Level-triggered: a process still unreaped after its callback (a spurious wake-up) is reported
    again on the next loop iteration, and so is every remaining one if a callback raised.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._epoll = select.epoll()
        self._callbacks: dict[int, Callable[[], None]] = {}
        loop.add_reader(self._epoll.fileno(), self._on_ready)

    def watch(self, pidfd: int, callback: Callable[[], None]) -> None:
        self._epoll.register(pidfd, select.EPOLLIN)
        self._callbacks[pidfd] = callback

    def unwatch(self, pidfd: int) -> None:
        """Stops watching; call it before closing the pidfd."""
        if self._callbacks.pop(pidfd, None) is not None:
            self._epoll.unregister(pidfd)

    def close(self) -> None:
        if not self._epoll.closed:
            self._loop.remove_reader(self._epoll.fileno())
            self._epoll.close()
            self._callbacks.clear()

    def _on_ready(self) -> None:
        for pidfd, _ in self._epoll.poll(0):
            callback = self._callbacks.get(pidfd)
            if callback is not None:
                callback()
