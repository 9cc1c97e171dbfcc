"""ExitWatcher with real children: who exited is reported once, to its own callback only."""

from __future__ import annotations

import asyncio
import functools
import os
import subprocess
from collections.abc import Iterator

import pytest

from engine.executors.exits import ExitWatcher
from tests.support import until


@pytest.fixture
def sleepers() -> Iterator[list[subprocess.Popen[bytes]]]:
    children = [subprocess.Popen(["sleep", "60"]) for _ in range(2)]
    yield children
    for child in children:
        child.kill()
        child.wait()


async def test_only_the_exited_child_is_reported(sleepers: list[subprocess.Popen[bytes]]) -> None:
    watcher = ExitWatcher(asyncio.get_running_loop())
    pidfds = [os.pidfd_open(child.pid) for child in sleepers]
    reported: list[int] = []
    for index, pidfd in enumerate(pidfds):
        watcher.watch(pidfd, functools.partial(_reap, watcher, pidfd, reported, index))
    sleepers[1].kill()
    await until(lambda: reported, timeout=10.0)
    await _spin()  # a few more polls: the survivor is not reported, nor the dead one twice
    assert reported == [1]
    watcher.close()
    os.close(pidfds[0])


async def test_unwatched_and_closed_watchers_report_nothing(
    sleepers: list[subprocess.Popen[bytes]],
) -> None:
    loop = asyncio.get_running_loop()
    watcher = ExitWatcher(loop)
    pidfd = os.pidfd_open(sleepers[0].pid)
    reported: list[int] = []
    watcher.watch(pidfd, lambda: reported.append(0))
    watcher.unwatch(pidfd)
    sleepers[0].kill()
    sleepers[0].wait()
    await _spin()
    assert reported == []
    os.close(pidfd)
    epoll_fd = watcher._epoll.fileno()
    watcher.close()
    watcher.close()  # idempotent
    assert not loop.remove_reader(epoll_fd)  # the loop no longer watches the set


def _reap(watcher: ExitWatcher, pidfd: int, reported: list[int], index: int) -> None:
    watcher.unwatch(pidfd)
    os.close(pidfd)
    reported.append(index)


async def _spin() -> None:
    """Lets the loop poll its readers several times (a readable pidfd is seen on the next one)."""
    for _ in range(10):
        await asyncio.sleep(0)
