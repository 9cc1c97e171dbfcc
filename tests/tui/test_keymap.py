"""Every binding has an id, and a keymap file remaps by id."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.binding import Binding

from engine.errors import UserError
from ledger_tui.app import LedgerApp
from ledger_tui.keymap import load_keymap
from ledger_tui.screens.confirm import ConfirmScreen
from ledger_tui.screens.events import EventsScreen
from ledger_tui.screens.run_detail import RunDetailScreen
from ledger_tui.screens.runs import RunsScreen
from ledger_tui.screens.stats import StatsScreen
from tests.tui.conftest import make_app, until_loaded, wait_for


def test_every_binding_has_a_unique_id() -> None:
    classes = (LedgerApp, RunsScreen, RunDetailScreen, EventsScreen, StatsScreen, ConfirmScreen)
    ids = []
    for cls in classes:
        for binding in cls.BINDINGS:
            assert isinstance(binding, Binding)
            assert binding.id, f"{cls.__name__} binding {binding.key} has no id"
            ids.append(binding.id)
    assert len(ids) == len(set(ids))


def test_keymap_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "keymap.toml"
    path.write_text('[keymap]\n"app.view_events" = "e"\n"app.quit" = "ctrl+q"\n')
    assert load_keymap(str(path)) == {"app.view_events": "e", "app.quit": "ctrl+q"}
    path.write_text("[keymap]\nbroken = 3\n")
    with pytest.raises(UserError):
        load_keymap(str(path))
    with pytest.raises(UserError):
        load_keymap(str(tmp_path / "absent.toml"))


async def test_remapped_key_switches_view(ledger: Path) -> None:
    app = make_app(ledger, keymap={"app.view_events": "e", "runs.filter": "f"})
    async with app.run_test(size=(100, 30)) as pilot:
        await until_loaded(pilot)
        await pilot.press("f")
        assert app.screen.query_one("#runs-filter").has_focus
        await pilot.press("escape", "e")
        await wait_for(pilot, lambda: isinstance(app.screen, EventsScreen))
