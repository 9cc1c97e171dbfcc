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


def make_app(path: Path, **kwargs: object) -> LedgerApp:
    """The app as a test sees it: frozen clock, fast polls, no crash reconciliation."""
    options: dict[str, object] = {"clock": lambda: NOW, "poll_interval": 0.05, "reconcile": False}
    options.update(kwargs)
    if options["clock"] is None:
        del options["clock"]  # the real clock
    app = LedgerApp(path, **options)  # type: ignore[arg-type]
    app.animation_level = "none"
    return app


async def wait_for(pilot: Pilot[None], condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll `condition` while the app runs; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await pilot.pause(0.02)


def loaded(app: LedgerApp) -> bool:
    """True once the visible live screen has shown its first data (modals count as loaded)."""
    return bool(getattr(app.screen, "loaded", True))


async def until_loaded(pilot: Pilot[None]) -> None:
    app = pilot.app
    assert isinstance(app, LedgerApp)
    await wait_for(pilot, lambda: loaded(app))
    await pilot.pause()


RunBefore = Callable[[Pilot[None]], Awaitable[None]]
