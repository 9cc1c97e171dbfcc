"""Helpers for the executor tests: find this test's processes, poll for a condition."""

from __future__ import annotations

import time
from collections.abc import Callable

import psutil

from engine.executors.base import LaunchSpec

SpecFactory = Callable[..., LaunchSpec]


def live_processes_with(marker: str) -> list[psutil.Process]:
    """Processes (zombies excluded: they are already dead) whose command line contains marker."""
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        cmdline = proc.info["cmdline"] or []
        if proc.info["status"] != psutil.STATUS_ZOMBIE and any(marker in arg for arg in cmdline):
            found.append(proc)
    return found


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Polls condition until it holds, failing the test after timeout seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.01)
