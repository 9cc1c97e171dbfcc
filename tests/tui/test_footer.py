"""View switches neither leak the footer's keys nor recompose a footer whose keys did not change."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from ledger_tui.widgets.lean_footer import LeanFooter
from tests.tui.conftest import make_app, until_loaded, wait_for


def watcher_counts(app: object) -> dict[str, int]:
    from ledger_tui.app import LedgerApp

    assert isinstance(app, LedgerApp)
    counts = {}
    for mode in ("runs", "events", "stats"):
        for screen in app._screen_stacks[mode]:
            for footer in screen.query(Footer):
                watchers = getattr(footer, "__watchers", {}).get("compact", [])
                counts[f"{mode}:{type(screen).__name__}"] = len(watchers)
    return counts


async def test_switching_views_keeps_no_removed_footer_keys(ledger: Path) -> None:
    app = make_app(ledger)
    async with app.run_test(size=(120, 30)) as pilot:
        await until_loaded(pilot)
        await pilot.press("enter")
        await until_loaded(pilot)
        cycle = ("3", "4", "1", "2")
        for key in cycle * 2:
            await pilot.press(key)
            await until_loaded(pilot)
        settled = watcher_counts(app)
        for key in cycle * 10:
            await pilot.press(key)
            await until_loaded(pilot)
        assert watcher_counts(app) == settled
        footer = app.screen.query_one(Footer)
        assert isinstance(footer, LeanFooter)
        keys = list(footer.query(FooterKey))
        await pilot.press("3", "2")  # away and back: the same keys, kept as they were
        await wait_for(pilot, lambda: app.screen.query_one(Footer) is footer)
        await pilot.pause()
        assert list(footer.query(FooterKey)) == keys


async def test_at_80_columns_every_view_shows_enter_where_it_works_and_q_and_keys(
    ledger: Path,
) -> None:
    app = make_app(ledger)
    async with app.run_test(size=(80, 24)) as pilot:
        await until_loaded(pilot)
        for keys, opens in (((), True), (("enter",), True), (("3",), True), (("4",), False)):
            for key in keys:
                await pilot.press(key)
                await until_loaded(pilot)
            await pilot.pause()
            footer = app.screen.query_one(Footer)
            shown = {
                key.key: key for key in footer.query(FooterKey) if key.region.right <= 80
            }  # wholly on screen
            assert {"question_mark", "q"} <= set(shown), (keys, sorted(shown))
            assert ("enter" in shown) is opens, (keys, sorted(shown))
