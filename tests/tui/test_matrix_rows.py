"""Matrix expansions are grouped under their step: one row in the run detail's step list that
expands and collapses, and one node with counts in the Graph tab."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Button

from engine.ledger.writer import LedgerWriter
from ledger_tui.screens.extend import ExtendScreen
from ledger_tui.screens.run_detail import RunDetailScreen
from ledger_tui.widgets.graph import GraphView
from ledger_tui.widgets.live_table import LiveTable
from tests.ledger_factory import LedgerFactory
from tests.tui.conftest import make_app, until_loaded, until_settled, wait_for
from tests.tui.ledger_builder import NOW

RUN = "1m00matrixrun"
EXPANSIONS = [f"test[os={os},py={py}]" for os in ("linux", "mac") for py in ("3.11", "3.12")]
STEPS = ["build", *EXPANSIONS, "ship"]
DOCUMENT = {
    "name": "mx",
    "steps": [
        {"id": "build", "command": "true"},
        {
            "id": "test",
            "command": "echo",
            "depends_on": ["build"],
            "matrix": {"os": ["linux", "mac"], "py": ["3.11", "3.12"]},
        },
        {"id": "ship", "command": "true", "depends_on": ["test"]},
    ],
}


async def write_matrix_run(path: Path) -> None:
    """build succeeded; of test's four expansions two succeeded, one failed, one runs."""
    async with await LedgerWriter.open(path) as writer:
        b = LedgerFactory(writer, logs=path.parent / "logs")
        b.create(RUN, "mx", STEPS, NOW - 60, document=DOCUMENT)
        t = b.attempt(RUN, "build", NOW - 60, 5)
        b.attempt(RUN, EXPANSIONS[0], t, 3)
        b.attempt(RUN, EXPANSIONS[1], t, 4, ok=False)
        b.start(RUN, EXPANSIONS[2], t)
        b.attempt(RUN, EXPANSIONS[3], t, 2)


def matrix_ledger(tmp_path: Path) -> Path:
    path = tmp_path / ".ledger" / "framework.db"
    path.parent.mkdir()
    asyncio.run(write_matrix_run(path))
    return path


async def open_run(pilot: Pilot[None]) -> tuple[RunDetailScreen, LiveTable]:
    app = pilot.app
    await until_loaded(pilot)
    app.open_run(RUN)  # type: ignore[attr-defined]
    await until_loaded(pilot)
    screen = app.screen
    assert isinstance(screen, RunDetailScreen)
    table = screen.query_one("#steps-table", LiveTable)
    await wait_for(pilot, lambda: table.row_count > 0 and screen.selected_step is not None)
    return screen, table


async def test_expansions_group_under_their_step_and_enter_folds_them(tmp_path: Path) -> None:
    app = make_app(await asyncio.to_thread(matrix_ledger, tmp_path))
    async with app.run_test(size=(140, 30)) as pilot:
        screen, table = await open_run(pilot)
        # The cursor starts on the running expansion: its group is open.
        assert screen.selected_step == EXPANSIONS[2] == table.selected_key
        assert table.keys == ("build", "matrix:test", *EXPANSIONS, "ship")
        heading = [str(cell) for cell in table.get_row("matrix:test")]
        assert heading[0] == "▾ test (4)"
        assert heading[1].endswith("failed")  # the worst of its expansions
        assert heading[-1] == "2/4 succeeded, 1 failed, 1 running"
        assert str(table.get_cell(EXPANSIONS[0], "step")) == "  " + EXPANSIONS[0]
        table.select_key("matrix:test")
        await pilot.pause()
        assert screen.selected_step == EXPANSIONS[2]  # a heading is not a step: the log stays
        await pilot.press("enter")
        await wait_for(pilot, lambda: table.keys == ("build", "matrix:test", "ship"))
        assert str(table.get_cell("matrix:test", "step")) == "▸ test (4)"
        assert table.selected_key == "matrix:test"
        await pilot.press("x")  # a heading cannot be canceled as a step
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(table.keys) == len(STEPS) + 1)
        await pilot.press("down", "down")
        await wait_for(pilot, lambda: screen.selected_step == EXPANSIONS[1])


async def test_the_graph_draws_a_matrix_step_as_one_node_with_counts(tmp_path: Path) -> None:
    app = make_app(await asyncio.to_thread(matrix_ledger, tmp_path))
    async with app.run_test(size=(140, 30)) as pilot:
        screen, table = await open_run(pilot)
        table.select_key("matrix:test")
        await pilot.press("enter")  # fold it: enter on the graph must open it again
        await wait_for(pilot, lambda: "test[os=mac,py=3.11]" not in table.keys)
        for _ in range(3):
            await pilot.press("t")
        graph = screen.query_one(GraphView)
        await wait_for(pilot, lambda: graph.has_focus)
        text = str(graph.render())
        assert "build" in text and "ship" in text
        assert "✘ test ✔2 ✘1 ▶1" in text  # the worst status of its expansions, then counts
        assert "test[" not in text
        await pilot.press("right")
        assert graph.cursor == "test"
        await pilot.press("enter")  # opens the expansion most worth a look: the running one
        await wait_for(pilot, lambda: table.selected_key == EXPANSIONS[2])
        assert screen.selected_step == EXPANSIONS[2]


def test_matrix_rows_snapshot(snap_compare: Any, tmp_path: Path) -> None:
    """The step list with a matrix step's heading over its indented expansions."""
    app = make_app(matrix_ledger(tmp_path))

    async def run_before(pilot: Pilot[None]) -> None:
        await open_run(pilot)
        await until_settled(pilot)

    assert snap_compare(app, terminal_size=(120, 24), run_before=run_before)


async def test_a_running_expansion_is_offered_by_its_id_in_the_extend_dialog(
    tmp_path: Path,
) -> None:
    app = make_app(await asyncio.to_thread(matrix_ledger, tmp_path))
    async with app.run_test(size=(140, 30)) as pilot:
        screen, _ = await open_run(pilot)
        assert screen.selected_step == EXPANSIONS[2]
        await pilot.press("T")
        await wait_for(pilot, lambda: isinstance(app.screen, ExtendScreen))
        button = app.screen.query_one("#extend-step", Button)
        assert str(button.label) == f"Step {EXPANSIONS[2]}'s"  # not taken for markup
