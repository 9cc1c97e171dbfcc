"""The dashboard never recovers a run: it shows the owner gone; the next engine command recovers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from textual.widgets import Static

from engine.ledger.owner import Owner
from engine.ledger.reader import LedgerReader
from engine.ledger.writer import LedgerWriter
from engine.states import EventType, RunStatus
from ledger_tui.screens.run_detail import RunDetailScreen
from tests.tui.conftest import make_app, until_loaded, wait_for, whole_polls

DEAD_RUN = "dead000000000"


def dead_owner() -> Owner:
    """An owner on this host whose process has exited: provably gone."""
    proc = subprocess.Popen(["true"])
    started = psutil.Process(proc.pid).create_time()
    proc.wait()
    return Owner(proc.pid, started, socket.gethostname(), Owner.current().boot_id)


async def write_orphaned_run(path: Path, created_at: float) -> None:
    async with await LedgerWriter.open(path) as writer:
        writer.create_run(
            run_id=DEAD_RUN, plan_hash="h", plan_name="orphaned", plan_version=None,
            plan_json="{}", plan_path=None, vars={}, step_ids=["a"], hook_ids=[],
            owner=dead_owner(), resumed_from=None, created_at=created_at,
        )  # fmt: skip
        writer.attempt_started(
            run_id=DEAD_RUN, step_id="a", attempt=1, at=created_at, pid=None, log_path=None,
            retry_reason=None, delay_sec=None,
        )  # fmt: skip


@pytest.fixture
def leftover() -> Iterator[subprocess.Popen[bytes]]:
    """A process of the dead run, as a crashed engine leaves one behind."""
    env = {**os.environ, "ENGINE_RUN_ID": DEAD_RUN}
    proc = subprocess.Popen(["sleep", "60"], env=env, start_new_session=True)
    yield proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait()


def run_state(path: Path) -> tuple[RunStatus, list[str]]:
    with LedgerReader.open(path) as reader:
        detail = reader.get_run(DEAD_RUN)
        assert detail is not None
        return detail.status, [str(e.type) for e in reader.events(run_id=DEAD_RUN)]


async def test_dashboard_shows_owner_gone_but_neither_marks_nor_kills(
    tmp_path: Path, leftover: subprocess.Popen[bytes]
) -> None:
    path = tmp_path / ".ledger" / "framework.db"
    path.parent.mkdir()
    await write_orphaned_run(path, created_at=time.time() - 5)
    app = make_app(path, clock=None)
    async with app.run_test(size=(120, 30)) as pilot:
        await until_loaded(pilot)
        app.open_run(DEAD_RUN)
        await until_loaded(pilot)
        screen = app.screen
        assert isinstance(screen, RunDetailScreen)
        header = screen.query_one("#run-header", Static)
        await wait_for(pilot, lambda: "owner gone" in str(header.render()))
        await whole_polls(pilot, 3)
    status, events = run_state(path)
    assert status is RunStatus.RUNNING
    assert str(EventType.RUN_CRASHED) not in events
    assert leftover.poll() is None  # the dashboard killed nothing

    # The next engine command recovers it: marks it crashed, kills its leftover.
    env = {**os.environ, "LEDGER_DB": str(path)}
    runs = subprocess.run(
        [sys.executable, "-m", "engine", "runs"], env=env, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert runs.returncode == 0, runs.stderr
    assert run_state(path)[0] is RunStatus.CRASHED
    assert leftover.wait(timeout=30) == -signal.SIGKILL
