"""View 4, Stats: totals, success rate, percentiles, flakiest and slowest steps over 1h/24h/7d."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Label, Sparkline, Static

from engine.ledger.records import StepStats
from engine.states import RunStatus
from ledger_tui import format as fmt
from ledger_tui.context import ScreenContext
from ledger_tui.screens.base import LedgerScreen
from ledger_tui.stats_query import WINDOWS, StatsPayload, StatsQuery
from ledger_tui.widgets.cells import plain, status_cell, theme_style
from ledger_tui.widgets.circuits import CircuitsPanel
from ledger_tui.widgets.live_table import Cells, LiveTable

PLAN_COLUMNS = (
    ("plan", "Plan"),
    ("runs", "Runs"),
    ("fail", "Failed"),
    ("p50", "p50"),
    ("p95", "p95"),
    ("chart", "p50 ▏ p95"),
)
BAR_WIDTH = 24
STEP_COLUMNS = (
    ("plan", "Plan"),
    ("step", "Step"),
    ("runs", "Runs"),
    ("fail", "Failed"),
    ("retry", "Retried"),
    ("p50", "p50"),
    ("p95", "p95"),
)


def step_cells(step: StepStats) -> Cells:
    return (
        plain(step.plan_name),
        plain(step.step_id),
        plain(step.runs),
        plain(fmt.percent(step.failure_rate)),
        plain(fmt.percent(step.retry_rate)),
        plain(fmt.duration(step.p50_ms)),
        plain(fmt.duration(step.p95_ms)),
    )


def duration_bar(
    p50: int | None, p95: int | None, longest: int, variables: Mapping[str, str]
) -> Text:
    """A bar chart cell: solid up to p50, lighter up to p95, scaled to the slowest plan."""
    if not longest or p95 is None:
        return Text("")
    solid = round(BAR_WIDTH * (p50 or 0) / longest)
    light = max(round(BAR_WIDTH * p95 / longest) - solid, 0)
    return Text.assemble(
        ("█" * solid, theme_style(variables, "accent")),
        ("▒" * light, theme_style(variables, "accent-muted")),
    )


class StatsScreen(LedgerScreen):
    """How runs went over a window of time."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("h", "window('1h')", "1h", id="stats.window_1h"),
        Binding("d", "window('24h')", "24h", id="stats.window_24h"),
        Binding("w", "window('7d')", "7d", id="stats.window_7d"),
    ]

    def __init__(self, context: ScreenContext) -> None:
        self.stats_query = StatsQuery(context.clock)
        super().__init__(context, self.stats_query)
        self.window = "24h"

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        with VerticalScroll(id="stats-body"):
            yield Static("", id="stats-totals")
            yield Label("Circuits", classes="section")
            yield CircuitsPanel("", id="stats-circuits", markup=False)
            with Vertical(id="stats-throughput"):
                yield Label("", id="stats-spark-label")
                yield Sparkline([], id="stats-spark")
            yield Label("Per plan", classes="section")
            yield LiveTable(PLAN_COLUMNS, id="stats-plans")
            with Horizontal(id="stats-steps-row"):
                with Vertical():
                    yield Label("Flakiest steps", classes="section")
                    yield LiveTable(STEP_COLUMNS, id="stats-flaky")
                with Vertical():
                    yield Label("Slowest steps (p95)", classes="section")
                    yield LiveTable(STEP_COLUMNS, id="stats-slow")
            yield Label("Per step", classes="section")
            yield LiveTable(STEP_COLUMNS, id="stats-steps")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.title = "Stats"

    def apply(self, payload: StatsPayload) -> None:
        if payload.window != self.window:
            return
        stats = payload.stats
        variables = self.app.theme_variables
        totals = Text.assemble(
            (f"Last {payload.window}", "bold"),
            f"   runs {stats.runs_total}   success rate {fmt.percent(stats.success_rate)}\n",
        )
        for status in RunStatus:
            totals.append_text(status_cell(str(status), variables))
            totals.append(f" {stats.runs_by_status.get(status, 0)}   ")
        self.query_one("#stats-totals", Static).update(totals)
        self.query_one(CircuitsPanel).show(payload.circuits, payload.now)
        attempts = sum(stats.attempts_per_bucket)
        self.query_one("#stats-spark-label", Label).update(
            f"Throughput: {fmt.plural(attempts, 'attempt')},"
            f" {fmt.duration(stats.bucket_sec * 1000)} per bar"
        )
        self.query_one("#stats-spark", Sparkline).data = list(stats.attempts_per_bucket)
        longest = max((p.p95_ms or 0 for p in stats.plans), default=0)
        self.query_one("#stats-plans", LiveTable).sync(
            [
                (
                    p.plan_name,
                    (
                        plain(p.plan_name),
                        plain(p.runs),
                        plain(fmt.percent(p.failure_rate)),
                        plain(fmt.duration(p.p50_ms)),
                        plain(fmt.duration(p.p95_ms)),
                        duration_bar(p.p50_ms, p.p95_ms, longest, variables),
                    ),
                )
                for p in stats.plans
            ]
        )
        for table_id, steps in (
            ("#stats-flaky", stats.flakiest_steps),
            ("#stats-slow", stats.slowest_steps),
            ("#stats-steps", stats.steps),
        ):
            self.query_one(table_id, LiveTable).sync(
                [(f"{s.plan_name}\0{s.step_id}", step_cells(s)) for s in steps]
            )

    def commands(self) -> Iterable[SystemCommand]:
        for window in WINDOWS:
            yield SystemCommand(
                f"Window {window}",
                f"Stats over the last {window}",
                lambda w=window: self.action_window(w),
            )

    def action_window(self, window: str) -> None:
        if window in WINDOWS and window != self.window:
            self.window = window
            self.stats_query.ask(window)
            self.context.poll_now()
