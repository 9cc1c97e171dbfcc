"""Colours come from the theme: --theme applies, unknown themes are refused, no literals in CSS."""

from __future__ import annotations

import re
from pathlib import Path

import ledger_tui
from tests.tui.conftest import make_app, until_loaded, wait_for

PACKAGE = Path(ledger_tui.__file__).parent


async def test_theme_option_applies(ledger: Path) -> None:
    app = make_app(ledger, theme_name="nord")
    async with app.run_test() as pilot:
        await until_loaded(pilot)
        assert app.theme == "nord"


async def test_unknown_theme_exits_2(ledger: Path) -> None:
    app = make_app(ledger, theme_name="no-such-theme")
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app._exit)
    assert app.return_code == 2


def test_no_hard_coded_colours() -> None:
    css = (PACKAGE / "app.tcss").read_text()
    for line in css.splitlines():
        if re.match(r"\s*(color|background|border[a-z-]*)\s*:", line):
            assert "$" in line, f"literal colour in app.tcss: {line.strip()}"
    for source in PACKAGE.rglob("*.py"):
        text = source.read_text()
        assert not re.search(r"#[0-9a-fA-F]{6}\b", text), f"hex colour in {source.name}"
        assert not re.search(r"\[(red|green|yellow|blue|magenta|cyan)\b", text), source.name


async def test_switching_theme_recolours_rows(ledger: Path) -> None:
    from rich.text import Text
    from textual.color import Color

    from ledger_tui.widgets.live_table import LiveTable

    app = make_app(ledger)
    async with app.run_test() as pilot:
        await until_loaded(pilot)
        table = app.screen.query_one(LiveTable)

        def failed_colour() -> object:
            cell = table.get_row_at(2)[0]  # the failed run
            assert isinstance(cell, Text)
            return cell.style.color if not isinstance(cell.style, str) else None

        before = failed_colour()
        old_error = app.theme_variables["error"]
        app.theme = "gruvbox"
        await wait_for(pilot, lambda: app.theme_variables["error"] != old_error)
        wanted = Color.parse(app.theme_variables["error"]).rich_color
        await wait_for(pilot, lambda: failed_colour() == wanted)
        assert before != wanted
