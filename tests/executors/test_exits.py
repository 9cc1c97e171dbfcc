"""The exit watchers with real children: who exited is reaped and reported once, to its callback."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator

import psutil
import pytest

from engine.errors import UserError
from engine.executors.exits import (
    EXIT_WATCH_ENV,
    choose_exit_watch,
    make_exit_watcher,
)
from tests.support import until


@pytest.fixture
def sleepers() -> Iterator[list[int]]:
    """Two children reaped by the watcher under test (Popen must not reap them itself)."""
    pids = [os.posix_spawnp("sleep", ["sleep", "60"], dict(os.environ)) for _ in range(2)]
    yield pids
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


@pytest.mark.parametrize("kind", ["epoll", "thread"])
async def test_only_the_exited_child_is_reported(sleepers: list[int], kind: str) -> None:
    watcher = make_exit_watcher(asyncio.get_running_loop(), kind)
    assert watcher.kind == kind
    reported: list[tuple[int, int]] = []
    for index, pid in enumerate(sleepers):
        watcher.watch(pid, lambda status, _, index=index: reported.append((index, status)))
    os.kill(sleepers[1], signal.SIGKILL)
    await until(lambda: reported, timeout=10.0)
    await _spin()  # a few more polls: the survivor is not reported, nor the dead one twice
    assert len(reported) == 1
    index, status = reported[0]
    assert index == 1 and os.waitstatus_to_exitcode(status) == -signal.SIGKILL
    with pytest.raises(ChildProcessError):
        os.waitpid(sleepers[1], os.WNOHANG)  # the watcher reaped it
    watcher.close()


@pytest.mark.parametrize("kind", ["epoll", "thread"])
async def test_a_closed_watcher_reports_nothing(sleepers: list[int], kind: str) -> None:
    loop = asyncio.get_running_loop()
    watcher = make_exit_watcher(loop, kind)
    reported: list[int] = []
    watcher.watch(sleepers[0], lambda status, _: reported.append(status))
    watcher.close()
    watcher.close()  # idempotent
    os.kill(sleepers[0], signal.SIGKILL)
    await until(lambda: _exited(sleepers[0]), timeout=10.0)
    await _spin()
    assert reported == []


def test_the_exit_watch_is_chosen_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(EXIT_WATCH_ENV, raising=False)
    assert choose_exit_watch() == "epoll"  # Linux 5.3+: the fast path
    monkeypatch.setenv(EXIT_WATCH_ENV, "thread")
    assert choose_exit_watch() == "thread"
    assert choose_exit_watch("epoll") == "epoll"  # an explicit choice wins over the variable
    monkeypatch.setenv(EXIT_WATCH_ENV, "kqueue")
    with pytest.raises(UserError, match="ENGINE_EXIT_WATCH must be one of epoll, thread"):
        choose_exit_watch()


def test_without_pidfds_the_thread_watch_is_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a system without pidfds (macOS) gets."""
    monkeypatch.delenv(EXIT_WATCH_ENV, raising=False)
    monkeypatch.delattr(os, "pidfd_open")
    assert choose_exit_watch() == "thread"


async def _spin() -> None:
    """Lets the loop poll its readers several times (a readable pidfd is seen on the next one)."""
    for _ in range(10):
        await asyncio.sleep(0)


def _exited(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True  # the thread watch reaped it
