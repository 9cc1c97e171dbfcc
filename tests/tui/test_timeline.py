"""The Timeline tab: its Textual-free model (bars, critical path, axis), and the live widget."""

from __future__ import annotations

import json
from pathlib import Path

from rich.cells import cell_len

from engine.ledger.records import Attempt
from engine.states import AttemptStatus
from ledger_tui.timeline import (
    axis,
    build_timeline,
    critical_path,
    plan_dependencies,
    tick_label,
    tick_step,
)
from ledger_tui.widgets.timeline import TimelineView
from tests.tui.conftest import make_app, until_settled, wait_for
from tests.tui.ledger_builder import NOW

T = 1_000_000.0


def attempt(step: str, n: int, start: float, end: float | None, status: str) -> Attempt:
    return Attempt(
        id=int(start * 10) + n, run_id="r", step_id=step, attempt=n,
        status=AttemptStatus(status), error_code=None, exit_code=None, signal=None,
        started_at=T + start, finished_at=None if end is None else T + end,
        duration_ms=None, pid=None, log_path=None, output_tail=None, retry_reason=None,
        delay_ms=None, message=None,
    )  # fmt: skip


def bar_width(line: str) -> int:
    return line.count("█") + line.count("▇")


def test_bars_are_measured_from_the_run_start_and_retries_get_their_own_bar() -> None:
    attempts = [
        attempt("a", 1, 0, 1, "succeeded"),
        attempt("b", 1, 1, 3, "failed"),
        attempt("b", 2, 4, 6, "succeeded"),
    ]
    timeline = build_timeline(attempts, {"b": ("a",)}, T, T + 6.5, now=T + 100)
    assert [(b.step_id, b.attempt, b.start, b.end) for b in timeline.bars] == [
        ("a", 1, 0, 1),
        ("b", 1, 1, 3),
        ("b", 2, 4, 6),
    ]
    assert timeline.span == 6.5  # the run's end, not the clock: a finished run stays put
    assert all(bar.critical for bar in timeline.bars)


def test_a_running_attempt_ends_now_and_the_axis_grows_with_the_clock() -> None:
    attempts = [attempt("a", 1, 0, 2, "succeeded"), attempt("b", 1, 2, None, "running")]
    early = build_timeline(attempts, {}, T, None, now=T + 5)
    later = build_timeline(attempts, {}, T, None, now=T + 50)
    assert (early.bars[1].end, early.span) == (5, 5)
    assert (later.bars[1].end, later.span) == (50, 50)
    assert later.column(2, 100) == 4  # zoomed to fit: 50 s over 100 columns


def test_the_critical_path_follows_the_dependency_that_finished_last() -> None:
    # a -> (fast, slow) -> join; other runs alone and ends early.
    finished = {"a": 1.0, "fast": 2.0, "slow": 5.0, "join": 6.0, "other": 3.0}
    deps = {"fast": ("a",), "slow": ("a",), "join": ("fast", "slow")}
    assert critical_path(finished, deps) == {"a", "slow", "join"}
    assert critical_path({}, deps) == set()


def test_dependencies_are_read_from_the_stored_plan_and_a_bad_plan_has_none() -> None:
    plan = {"steps": [{"id": "a"}, {"id": "b", "depends_on": ["a"]}, {"no": "id"}]}
    assert plan_dependencies(json.dumps(plan)) == {"a": (), "b": ("a",)}
    assert plan_dependencies("not json") == {}
    assert plan_dependencies("[]") == {}


def test_the_axis_uses_round_ticks_that_fit() -> None:
    assert tick_step(6, 60) == 1
    assert tick_step(600, 60) == 120
    assert [tick_label(s) for s in (0, 45, 120, 90, 7200, 5400)] == [
        "0s", "45s", "2m", "1m30s", "2h", "1h30m",
    ]  # fmt: skip
    line = axis(6, 60)
    assert line.startswith("|0s") and "|5s" in line and len(line) <= 60


async def test_the_timeline_tab_grows_a_running_bar_as_the_clock_moves(ledger: Path) -> None:
    now = [NOW]
    app = make_app(ledger, clock=lambda: now[0])
    async with app.run_test(size=(100, 30)) as pilot:
        await until_settled(pilot)
        await pilot.press("enter", "t", "t")
        await until_settled(pilot)
        assert app.screen.query_one("#run-tabs").active == "tab-timeline"
        view = app.screen.query_one(TimelineView)
        await wait_for(pilot, lambda: "test #1" in view.render().plain)
        bars = {line.split()[1]: line for line in view.render().plain.splitlines()[1:3]}
        assert "▶ 3.0s" in bars["test"]  # started at NOW - 3, running
        now[0] = NOW + 57
        await wait_for(pilot, lambda: "▶ 1m00s" in view.render().plain)
        # Zoomed to fit: 62 s of run in the same width, so the finished setup bar shrank.
        setup = next(line for line in view.render().plain.splitlines() if "setup #1" in line)
        assert 0 < bar_width(setup) < bar_width(bars["setup"])


async def test_each_line_fits_the_width_with_its_label(ledger: Path) -> None:
    """Zoom to fit leaves room for the `▶ 1m00s` after a bar that ends at the right edge: a line
    longer than the view wrapped onto the next one (or was cut)."""
    now = [NOW + 57]
    app = make_app(ledger, clock=lambda: now[0])
    async with app.run_test(size=(100, 30)) as pilot:
        await until_settled(pilot)
        await pilot.press("enter", "t", "t")
        view = app.screen.query_one(TimelineView)
        await wait_for(pilot, lambda: "▶ 1m00s" in view.render().plain)
        width = view.content_size.width
        lines = view.render().plain.splitlines()
        assert all(cell_len(line) <= width for line in lines), (width, lines)
        running = next(line for line in lines if "▶ 1m00s" in line)
        assert running.rstrip().endswith("▶ 1m00s")
