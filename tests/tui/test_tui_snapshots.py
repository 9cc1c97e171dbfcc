"""Each view at 80x24 and 120x40, on a fixed ledger with a frozen clock."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from ledger_tui.widgets.graph import GraphView
from ledger_tui.widgets.live_table import LiveTable
from tests.tui.conftest import make_app, until_settled, wait_for
from tests.tui.test_graph import CI_DEPS, CI_STEPS, write_ci_run

SIZES = [(80, 24), (120, 40)]


def keys_then_load(*keys: str) -> Any:
    async def run_before(pilot: Pilot[None]) -> None:
        # Settle before each key too: the next screen must open over a finished one.
        await until_settled(pilot)
        for key in keys:
            await pilot.press(key)
            await until_settled(pilot)

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize(
    "keys",
    [(), ("enter",), ("3",), ("4",)],
    ids=["runs", "run-detail", "events", "stats"],
)
def test_view(snap_compare: Any, ledger: Path, size: tuple[int, int], keys: tuple[str]) -> None:
    app = make_app(ledger)

    async def run_before(pilot: Pilot[None]) -> None:
        await keys_then_load(*keys)(pilot)
        if keys == ("3",):
            # Where the followed Events list's bottom ends (one line apart) depends on whether
            # its horizontal scrollbar came before or after the cursor was scrolled into view:
            # the snapshot shows the list from its first row, where nothing is left to timing.
            await pilot.press("home")
            await until_settled(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_cancel_confirmation(snap_compare: Any, ledger: Path) -> None:
    app = make_app(ledger)
    assert snap_compare(app, terminal_size=(80, 24), run_before=keys_then_load("enter", "c"))


@pytest.mark.parametrize(
    "keys",
    [("enter", "t", "t"), ("down", "down", "down", "enter", "t", "t")],
    ids=["live", "retried"],
)
def test_timeline(snap_compare: Any, ledger: Path, keys: tuple[str, ...]) -> None:
    """The Timeline tab of the active run (a running bar up to the frozen clock) and of a run
    whose step was retried, with the critical path marked."""
    app = make_app(ledger)
    assert snap_compare(app, terminal_size=(100, 24), run_before=keys_then_load(*keys))


def test_graph(snap_compare: Any, tmp_path: Path) -> None:
    """The Graph tab of a CI pipeline: fan-out, fan-in, edges through layers, statuses, cursor."""
    path = tmp_path / ".ledger" / "framework.db"
    path.parent.mkdir()
    asyncio.run(write_ci_run(path, CI_STEPS, CI_DEPS))
    app = make_app(path)

    async def run_before(pilot: Pilot[None]) -> None:
        await keys_then_load("enter")(pilot)
        # The steps table's first cursor row is not this test's subject: pin it to the first step.
        screen = pilot.app.screen
        screen.query_one("#steps-table", LiveTable).move_cursor(row=0)
        await wait_for(pilot, lambda: getattr(screen, "selected_step", None) == "checkout")
        await keys_then_load("t", "t", "t")(pilot)
        # The graph takes the keys once it is shown (its Show event), not when the tab switches.
        await wait_for(pilot, lambda: pilot.app.screen.query_one(GraphView).has_focus)
        await keys_then_load("right", "down")(pilot)

    assert snap_compare(app, terminal_size=(100, 24), run_before=run_before)
