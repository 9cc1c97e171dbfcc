"""Learning that a child exited, and reaping it: epoll over pidfds on Linux, a thread elsewhere.

Chosen once, at start-up (`choose_exit_watch`):

- `epoll` (Linux 5.3+): each child's pidfd in one private epoll set, which the event loop watches
  as its single reader. `loop.add_reader` per attempt costs ~20 µs through asyncio's selector
  bookkeeping; registering a pidfd in the set is one system call.
- `thread` (everywhere else, e.g. macOS, or a kernel without pidfds): a daemon thread per child
  blocks in `wait4` and hands the status to the loop. About 60 µs more per step; correct.

`ENGINE_EXIT_WATCH=thread` forces the portable path (CI runs the executor tests under both).

Both reap with `os.wait4`, whose rusage is the attempt's CPU time and peak memory (the main process
and the descendants it reaped), at no extra system call.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from engine.errors import UserError
from engine.states import ExitCode

if TYPE_CHECKING:
    from resource import struct_rusage

EXIT_WATCH_ENV = "ENGINE_EXIT_WATCH"
EXIT_WATCHES = ("epoll", "thread")
# What a child reaped by someone else (a stray `waitpid(-1)`) is reported as: its status is lost.
LOST_STATUS = 255 << 8

# Called on the loop thread with the reaped child's wait status and rusage (None: reaped elsewhere).
OnExit = Callable[[int, "struct_rusage | None"], None]


class ExitWatcher(Protocol):
    """Reaps watched children and reports each one's wait status once, on the loop thread."""

    kind: str

    def watch(self, pid: int, on_exit: OnExit) -> None: ...

    def close(self) -> None: ...


def choose_exit_watch(requested: str | None = None) -> str:
    """The exit watch to use: `requested`, else `$ENGINE_EXIT_WATCH`, else the best available."""
    wanted = requested or os.environ.get(EXIT_WATCH_ENV, "").strip().lower()
    if wanted and wanted not in EXIT_WATCHES:
        choices = ", ".join(EXIT_WATCHES)
        raise UserError(
            f"{EXIT_WATCH_ENV} must be one of {choices}, not {wanted!r}", ExitCode.USAGE
        )
    if wanted == "thread" or not _pidfds_work():
        return "thread"
    return "epoll"


def make_exit_watcher(loop: asyncio.AbstractEventLoop, kind: str) -> ExitWatcher:
    if kind == "epoll":
        return EpollExitWatcher(loop)
    return ThreadExitWatcher(loop)


def _pidfds_work() -> bool:
    if not hasattr(select, "epoll") or not hasattr(os, "pidfd_open"):
        return False
    try:
        os.close(os.pidfd_open(os.getpid()))
    except OSError:
        return False  # the kernel predates pidfds (5.3) or a seccomp filter refuses them
    return True


Reaped = tuple[int, "struct_rusage | None"]  # (wait status, rusage)


def reap(pid: int, options: int) -> Reaped | None:
    """`wait4(pid, options)`'s status and rusage; None while it runs; LOST_STATUS if reaped
    elsewhere (its rusage is lost with it)."""
    try:
        reaped, status, usage = os.wait4(pid, options)
    except ChildProcessError:
        return LOST_STATUS, None
    return (status, usage) if reaped else None


class EpollExitWatcher:
    """Pidfds in one epoll set that the loop watches as a whole.

    Level-triggered: a process still unreaped after a wake-up (a spurious one) is seen again on
    the next loop iteration, and so is every remaining one if a callback raised.
    """

    kind = "epoll"

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._epoll = select.epoll()
        self._watched: dict[int, tuple[int, OnExit]] = {}  # pidfd -> (pid, callback)
        self._thread_watch: ThreadExitWatcher | None = None
        loop.add_reader(self._epoll.fileno(), self._on_ready)

    def watch(self, pid: int, on_exit: OnExit) -> None:
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:
            # Out of descriptors: a waiting thread is slower but correct.
            if self._thread_watch is None:
                self._thread_watch = ThreadExitWatcher(self._loop)
            self._thread_watch.watch(pid, on_exit)
            return
        self._epoll.register(pidfd, select.EPOLLIN)
        self._watched[pidfd] = (pid, on_exit)

    def close(self) -> None:
        """Stops watching; children still running are no longer reported."""
        if not self._epoll.closed:
            self._loop.remove_reader(self._epoll.fileno())
            self._epoll.close()
            for pidfd in self._watched:
                os.close(pidfd)
            self._watched.clear()
        if self._thread_watch is not None:
            self._thread_watch.close()

    def _on_ready(self) -> None:
        for pidfd, _ in self._epoll.poll(0):
            watched = self._watched.get(pidfd)
            if watched is None:
                continue
            pid, on_exit = watched
            reaped = reap(pid, os.WNOHANG)
            if reaped is None:
                continue  # spurious wake-up: the pidfd stays watched
            del self._watched[pidfd]
            self._epoll.unregister(pidfd)
            os.close(pidfd)
            on_exit(*reaped)


class ThreadExitWatcher:
    """A daemon thread per child, blocked in `wait4`, hands its status to the loop.

    A thread per child rather than a pool: a pool's workers would all be blocked by long steps
    and a short step's exit would wait for a free one.
    """

    kind = "thread"

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._closed = False

    def watch(self, pid: int, on_exit: OnExit) -> None:
        thread = threading.Thread(
            target=self._wait, args=(pid, on_exit), name=f"exit-watch-{pid}", daemon=True
        )
        thread.start()

    def close(self) -> None:
        """Stops reporting; the threads still reap their children when these exit."""
        self._closed = True

    def _wait(self, pid: int, on_exit: OnExit) -> None:
        reaped = reap(pid, 0)
        assert reaped is not None
        if not self._closed:
            # A closed loop raises RuntimeError: nobody is waiting any more.
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._report, on_exit, reaped)

    def _report(self, on_exit: OnExit, reaped: Reaped) -> None:
        if not self._closed:
            on_exit(*reaped)
