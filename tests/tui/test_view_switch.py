"""A view switch restyles nothing that could not have changed, and still shows the right styles."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from textual.color import Color
from textual.dom import DOMNode

from ledger_tui.app import LedgerApp
from ledger_tui.screens.events import EventsScreen
from tests.tui.conftest import make_app, until_loaded, wait_for


def count_restyles(app: LedgerApp) -> list[int]:
    """Counts the nodes the stylesheet restyles from now on (one entry per call)."""
    counts: list[int] = []
    update_nodes = app.stylesheet.update_nodes

    def counting(nodes: Iterable[DOMNode], animate: bool = False) -> None:
        nodes = list(nodes)
        counts.append(len(nodes))
        update_nodes(nodes, animate=animate)

    app.stylesheet.update_nodes = counting  # type: ignore[method-assign]
    return counts


async def test_switching_back_to_a_view_does_not_restyle_it(ledger: Path) -> None:
    app = make_app(ledger)
    async with app.run_test(size=(120, 40)) as pilot:
        for key in ("3", "1") * 2:  # Textual brings each screen's CSS up to date once
            await pilot.press(key)
            await until_loaded(pilot)
        screen_nodes = len(list(app.screen.walk_children(with_self=True)))
        counts = count_restyles(app)
        await pilot.press("3")
        await until_loaded(pilot)
        await pilot.press("1")
        await until_loaded(pilot)
        await pilot.pause()
        # Textual restyled the whole screen on each resume (every node of it, each time).
        assert sum(counts) < screen_nodes, (counts, screen_nodes)


async def test_a_theme_changed_while_a_view_was_hidden_applies_when_shown(ledger: Path) -> None:
    app = make_app(ledger)
    async with app.run_test(size=(120, 40)) as pilot:
        await until_loaded(pilot)
        await pilot.press("3")
        await until_loaded(pilot)
        await pilot.press("1")
        await until_loaded(pilot)
        app.theme = "gruvbox"
        await wait_for(pilot, lambda: app.current_theme.name == "gruvbox")
        await pilot.press("3")
        await until_loaded(pilot)
        assert isinstance(app.screen, EventsScreen)
        wanted = Color.parse(app.theme_variables["background"])
        await wait_for(pilot, lambda: app.screen.styles.background == wanted)


async def test_losing_focus_while_a_view_was_hidden_restyles_it_when_shown(ledger: Path) -> None:
    app = make_app(ledger)
    async with app.run_test(size=(120, 40)) as pilot:
        await until_loaded(pilot)
        await pilot.press("3")
        await until_loaded(pilot)
        await pilot.press("1")
        await until_loaded(pilot)
        counts = count_restyles(app)
        app.app_focus = False  # the terminal lost focus: `:blur` styles apply on the next resume
        await pilot.press("3")
        await until_loaded(pilot)
        assert sum(counts) >= len(list(app.screen.walk_children(with_self=True)))
