"""Fixtures for the executor tests: an executor, a spec factory, unique process markers."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from engine.executors.base import LaunchSpec
from engine.executors.local import LocalExecutor
from tests.executors.processes import SpecFactory
from tests.support import live_processes_with


@pytest.fixture(params=["epoll", "thread"])
def executor(request: pytest.FixtureRequest) -> Iterator[LocalExecutor]:
    """Every executor test runs under both exit watches: the portable one is tested on Linux."""
    executor = LocalExecutor(exit_watch=request.param)
    yield executor
    executor.close()


@pytest.fixture
def make_spec(tmp_path: Path) -> SpecFactory:
    """Builds a LaunchSpec whose log lives in tmp_path; keyword arguments override any field."""

    def make(*argv: str, **overrides: Any) -> LaunchSpec:
        fields: dict[str, Any] = {
            "run_id": "run1",
            "step_id": "step",
            "attempt": 1,
            "argv": argv,
            "cwd": None,
            "env": {"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            "log_path": tmp_path / "logs" / "run1" / "step.1.log",
            "timeout_sec": None,
            "kill_grace_sec": 5.0,
        }
        fields.update(overrides)
        return LaunchSpec(**fields)

    return make


@pytest.fixture
def sleep_arg() -> Iterator[str]:
    """A unique `sleep` duration (about 5 minutes) that tells this test's processes from others.

    Whatever still runs with it at teardown is killed by pid: a failing test leaves nothing behind.
    """
    marker = f"300.{secrets.randbelow(10**9):09d}"
    yield marker
    for proc in live_processes_with(marker):
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
