"""A missing ledger is waited for; a foreign or newer file is refused with exit code 3."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from textual.widgets import Static

from engine.ledger.schema import APPLICATION_ID
from ledger_tui.widgets.live_table import LiveTable
from tests.tui.conftest import make_app, wait_for
from tests.tui.ledger_builder import ACTIVE_RUN, build_ledger

CLI = [sys.executable, "-m", "ledger_tui.cli"]


async def test_missing_ledger_is_announced_then_shown_when_it_appears(tmp_path: Path) -> None:
    path = tmp_path / ".ledger" / "framework.db"
    app = make_app(path)
    async with app.run_test(size=(100, 30)) as pilot:
        notice = app.screen.query_one(".notice", Static)
        await wait_for(pilot, lambda: bool(notice.display))
        assert "There is no ledger" in str(notice.render())
        assert "waiting" in str(notice.render())
        path.parent.mkdir()
        await build_ledger(path)
        table = app.screen.query_one(LiveTable)
        await wait_for(pilot, lambda: ACTIVE_RUN in table.keys)
        assert not notice.display


def foreign_sqlite(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.execute("PRAGMA application_id = 1234")


def newer_ledger(path: Path) -> None:
    with ThreadPoolExecutor(1) as pool:  # the test's own event loop is running in this thread
        pool.submit(asyncio.run, build_ledger(path)).result()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute("PRAGMA user_version = 99")


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda p: p.write_text("hello, not a database\n"), "not an SQLite database"),
        (foreign_sqlite, "not a ledger"),
        (newer_ledger, "newer version"),
    ],
    ids=["text-file", "foreign-sqlite", "newer-schema"],
)
async def test_unusable_file_exits_3(tmp_path: Path, make: object, words: str) -> None:
    path = tmp_path / "framework.db"
    assert callable(make)
    make(path)
    app = make_app(path)
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app._exit)
    assert app.return_code == 3
    result = subprocess.run(
        [*CLI, "--ledger", str(path)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 3
    assert words in result.stderr
    assert "Traceback" not in result.stderr


def test_status_prints_the_overview_as_text_and_json(ledger: Path) -> None:
    text = subprocess.run(
        [*CLI, "--ledger", str(ledger), "status"], capture_output=True, text=True, timeout=30
    )
    assert text.returncode == 0, text.stderr
    assert "Active runs: 1" in text.stdout
    assert ACTIVE_RUN in text.stdout
    as_json = subprocess.run(
        [*CLI, "--ledger", str(ledger), "status", "--json"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    import json

    data = json.loads(as_json.stdout)
    assert [run["id"] for run in data["active"]] == [ACTIVE_RUN]
    assert len(data["recent"]) == 6


def test_status_on_a_missing_ledger_says_so(tmp_path: Path) -> None:
    result = subprocess.run(
        [*CLI, "--ledger", str(tmp_path / "none.db"), "status"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 3
    assert "There is no ledger" in result.stderr


def test_status_path_never_imports_textual() -> None:
    code = (
        "import sys, ledger_tui.cli, ledger_tui.status, ledger_tui.watch, ledger_tui.format, "
        "ledger_tui.logtail, ledger_tui.keymap, ledger_tui.queries, ledger_tui.poller; "
        "assert not [m for m in sys.modules if m.split('.')[0] == 'textual'], 'textual imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)
