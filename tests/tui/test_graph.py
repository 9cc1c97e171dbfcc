"""The Graph tab: its Textual-free layout and drawing, and the widget's keys under Pilot."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from engine.ledger.writer import LedgerWriter
from ledger_tui.graph_canvas import draw
from ledger_tui.graph_layout import count_crossings, layer_of, layout
from ledger_tui.widgets.graph import MAX_DRAWN_STEPS, GraphView
from tests.ledger_factory import T0, LedgerFactory
from tests.tui.conftest import make_app, until_settled, wait_for

# A CI pipeline: fan-out from checkout, fan-in at publish, and two edges that skip layers.
CI_STEPS = ["checkout", "lint", "unit", "build", "e2e", "docs", "package", "publish", "notify"]
CI_DEPS = {
    "lint": ["checkout"], "unit": ["checkout"], "build": ["checkout"], "docs": ["checkout"],
    "e2e": ["build", "unit"], "package": ["build", "lint"],
    "publish": ["package", "e2e", "docs"], "notify": ["publish", "checkout"],
}  # fmt: skip
CI_RUN = "1m00graphaaaa"


def test_longest_path_layering_puts_a_step_right_of_its_deepest_dependency() -> None:
    assert layer_of(CI_STEPS, CI_DEPS) == {
        "checkout": 0, "lint": 1, "unit": 1, "build": 1, "docs": 1,
        "e2e": 2, "package": 2, "publish": 3, "notify": 4,
    }  # fmt: skip


def test_an_edge_that_skips_layers_runs_through_a_placeholder_in_each() -> None:
    placed = layout(CI_STEPS, CI_DEPS)
    through = [
        (index, slot.source, slot.target)
        for index, layer in enumerate(placed.layers)
        for slot in layer
        if slot.step is None
    ]
    assert sorted(through) == [
        (1, "checkout", "notify"), (2, "checkout", "notify"), (2, "docs", "publish"),
        (3, "checkout", "notify"),
    ]  # fmt: skip
    assert placed.position("publish") == (3, placed.position("publish")[1])  # type: ignore[index]


def test_ordering_within_layers_removes_crossings() -> None:
    # Plan order a, b on the left and y, x on the right cross (a->x, b->y); sweeps undo it.
    steps = ["a", "b", "y", "x"]
    deps = {"x": ["a"], "y": ["b"]}
    assert count_crossings([(0, 1), (1, 0)]) == 1
    placed = layout(steps, deps)
    assert placed.crossings() == 0
    assert layout(CI_STEPS, CI_DEPS).crossings() == 0


def test_a_cycle_is_shown_flat_rather_than_failing() -> None:
    assert set(layer_of(["a", "b"], {"a": ["b"], "b": ["a"]}).values()) == {0}


def test_the_drawing_shows_fan_out_fan_in_and_each_label_where_it_says() -> None:
    canvas = draw(layout(CI_STEPS, CI_DEPS), {s: f"✔ {s}" for s in CI_STEPS})
    text = "\n".join(canvas.lines)
    assert "✔ checkout ─┬─▸✔ " in text  # one line out of checkout, splitting
    assert text.count("▸") == len(CI_DEPS)  # every step with dependencies has one arrow in
    for node in canvas.nodes:
        assert canvas.lines[node.row][node.x : node.x + node.width] == f"✔ {node.step}"
    assert {node.step for node in canvas.nodes} == set(CI_STEPS)


def test_long_labels_are_cut() -> None:
    canvas = draw(layout(["a" * 40], {}), {"a" * 40: "a" * 40}, max_label=10)
    assert canvas.lines == ("a" * 9 + "…",)


async def write_ci_run(path: Path, steps: list[str], deps: dict[str, list[str]]) -> None:
    document = {"name": "ci", "steps": [{"id": s, "depends_on": deps.get(s, [])} for s in steps]}
    async with await LedgerWriter.open(path) as w:
        b = LedgerFactory(w, logs=path.parent / "logs")
        b.create(CI_RUN, "ci", steps, T0, document=document)
        t = b.attempt(CI_RUN, steps[0], T0, 1)
        if len(steps) > 3:
            b.attempt(CI_RUN, steps[1], t, 1, ok=False)
            b.start(CI_RUN, steps[2], t)


@pytest.fixture
def ci_ledger(tmp_path: Path) -> Path:
    path = tmp_path / ".ledger" / "framework.db"
    path.parent.mkdir()
    asyncio.run(write_ci_run(path, CI_STEPS, CI_DEPS))
    return path


async def open_graph(pilot: object) -> GraphView:
    from textual.pilot import Pilot

    assert isinstance(pilot, Pilot)
    await until_settled(pilot)
    await pilot.press("enter")
    await until_settled(pilot)
    for _ in range(3):
        await pilot.press("t")
    await wait_for(pilot, lambda: pilot.app.screen.query_one("#run-tabs").active == "tab-graph")
    view = pilot.app.screen.query_one(GraphView)
    await wait_for(pilot, lambda: view.has_focus)
    return view


async def test_arrows_move_between_steps_and_enter_opens_the_step(ci_ledger: Path) -> None:
    app = make_app(ci_ledger)
    async with app.run_test(size=(120, 30)) as pilot:
        view = await open_graph(pilot)
        assert view.cursor == "checkout"
        await pilot.press("right")
        assert view.cursor in ("lint", "build", "unit", "docs")
        await pilot.press("right", "right", "right")
        assert view.cursor == "notify"
        await pilot.press("left", "left")
        assert view.cursor in ("package", "e2e")
        await pilot.press("up", "up")
        first = view.cursor
        await pilot.press("down")
        assert view.cursor != first
        chosen = view.cursor
        await pilot.press("enter")
        screen = app.screen
        await wait_for(pilot, lambda: screen.query_one("#run-tabs").active == "tab-log")
        assert screen.query_one("#steps-table").has_focus
        await wait_for(pilot, lambda: getattr(screen, "selected_step", None) == chosen)


async def test_more_steps_than_can_be_drawn_collapse_to_counted_layers(tmp_path: Path) -> None:
    steps = [f"s{i}" for i in range(MAX_DRAWN_STEPS + 20)]
    deps = {s: ["s0"] for s in steps[1:-1]} | {steps[-1]: steps[1:-1]}
    path = tmp_path / ".ledger" / "framework.db"
    path.parent.mkdir()
    await write_ci_run(path, steps, deps)
    app = make_app(path)
    async with app.run_test(size=(120, 30)) as pilot:
        view = await open_graph(pilot)
        lines = view.render().plain.splitlines()
        assert view.collapsed
        assert lines[0].startswith("layer   1      1 step    ✔ 1")
        assert "318 steps" in lines[1] and "✘ 1" in lines[1] and "▶ 1" in lines[1]
        assert lines[2].startswith("layer   3      1 step ")
        await pilot.press("down", "enter")  # the layer's running step is the one worth a look
        screen = app.screen
        await wait_for(pilot, lambda: getattr(screen, "selected_step", None) == "s2")
