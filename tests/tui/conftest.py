"""Fixtures for the dashboard: a deterministic ledger, an app with a frozen clock."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from ledger_tui.app import LedgerApp
from tests.tui.ledger_builder import NOW, build_ledger


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    path = tmp_path / ".ledger" / "framework.db"
    path.parent.mkdir()
    asyncio.run(build_ledger(path))
    return path


DISPLAY_PATH = "~/project/.ledger/framework.db"


def make_app(path: Path, **kwargs: object) -> LedgerApp:
    """The app as a test sees it: frozen clock, fast polls."""
    options: dict[str, object] = {
        "clock": lambda: NOW,
        "poll_interval": 0.05,
        "display_path": DISPLAY_PATH,  # the ledger is in a new tmp dir each time: not shown
    }
    options.update(kwargs)
    if options["clock"] is None:
        del options["clock"]  # the real clock
    app = LedgerApp(path, **options)  # type: ignore[arg-type]
    app.animation_level = "none"
    return app


# Generous: the tests share two cores with other suites; a bound only matters when something hangs.
TIMEOUT = 30.0


async def wait_for(
    pilot: Pilot[None], condition: Callable[[], bool], timeout: float = TIMEOUT
) -> None:
    """Poll `condition` while the app runs; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await pilot.pause(0.02)


async def after_refresh(pilot: Pilot[None]) -> None:
    """Wait until the screen has refreshed and run what was deferred until then (scroll_end)."""
    done = asyncio.Event()
    pilot.app.call_after_refresh(done.set)
    await wait_for(pilot, done.is_set)


def loaded(app: LedgerApp) -> bool:
    """True once the visible live screen has shown its first data (modals count as loaded)."""
    return bool(getattr(app.screen, "loaded", True))


async def until_loaded(pilot: Pilot[None]) -> None:
    app = pilot.app
    assert isinstance(app, LedgerApp)
    await wait_for(pilot, lambda: loaded(app))
    await pilot.pause()


async def whole_polls(pilot: Pilot[None], count: int = 1) -> None:
    """Wait until `count` polls have run from start to end after this call, and the screen has
    handled the data they sent."""
    app = pilot.app
    assert isinstance(app, LedgerApp)
    # The poll in flight now may have read the ledger before this call: it does not count.
    target = app.polls_completed + count + 1
    await wait_for(pilot, lambda: app.polls_completed >= target)
    await pilot.pause()


async def until_settled(pilot: Pilot[None], timeout: float = TIMEOUT) -> None:
    """Wait until the screen is loaded and looks the same before and after a whole poll.

    What a snapshot or an assertion on layout needs: rows applied, then the work Textual defers
    to later refreshes (column widths on idle, scroll_end after layout) done.
    """
    await until_loaded(pilot)
    deadline = time.monotonic() + timeout
    before = None
    while True:
        await whole_polls(pilot)
        await pilot.wait_for_scheduled_animations()
        shot = pilot.app.export_screenshot()
        if shot == before:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"the screen still changed after {timeout} s")
        before = shot


RunBefore = Callable[[Pilot[None]], Awaitable[None]]
