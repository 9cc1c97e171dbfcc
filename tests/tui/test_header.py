"""The header names the ledger: `~` for the home directory, the middle elided when long."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Header

from ledger_tui import format as fmt
from tests.tui.conftest import DISPLAY_PATH, make_app, until_loaded, wait_for


def test_short_path_uses_tilde_and_elides_the_middle() -> None:
    home = Path("/home/ada")
    shown = fmt.short_path("/home/ada/p/.ledger/framework.db", home=home)
    assert shown == "~/p/.ledger/framework.db"
    assert fmt.short_path("/home/adam/x.db", home=home) == "/home/adam/x.db"  # not ada's home
    long = "/srv/builds/" + "very-long-project-name/" * 4 + ".ledger/framework.db"
    short = fmt.short_path(long, width=40, home=home)
    assert len(short) == 40
    assert short.startswith("/srv/builds/") and "…" in short
    assert short.endswith(".ledger/framework.db")


def header_text(app: object) -> str:
    from ledger_tui.app import LedgerApp

    assert isinstance(app, LedgerApp)
    return str(app.screen.query_one(Header).format_title())


async def test_the_header_shows_the_ledger_path(ledger: Path) -> None:
    app = make_app(ledger, display_path=None)
    async with app.run_test(size=(160, 24)) as pilot:
        await until_loaded(pilot)
        await wait_for(pilot, lambda: fmt.short_path(ledger) in header_text(app))
        assert "Runs" in header_text(app)
        await pilot.press("3")
        await wait_for(pilot, lambda: fmt.short_path(ledger) in header_text(app))


async def test_tests_show_a_fixed_display_path(ledger: Path) -> None:
    app = make_app(ledger)
    async with app.run_test(size=(120, 24)) as pilot:
        await until_loaded(pilot)
        await wait_for(pilot, lambda: DISPLAY_PATH in header_text(app))
        assert str(ledger.parent) not in header_text(app)
