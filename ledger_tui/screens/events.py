"""View 3, Events: the live stream of all runs, newest followed, filterable by run/step/type."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual import on
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Input, Static

from ledger_tui.context import ScreenContext
from ledger_tui.messages import OpenRun
from ledger_tui.queries import EventFilter, EventsBatch, EventsQuery
from ledger_tui.screens.base import LedgerScreen
from ledger_tui.screens.event_detail import EventDetailScreen, EventMemory
from ledger_tui.widgets.cells import event_cells
from ledger_tui.widgets.live_table import LiveTable

__all__ = ["EventFilter", "EventsScreen"]
KEPT = 1000
COLUMNS = (
    ("time", "Time (UTC)"),
    ("run", "Run"),
    ("step", "Step"),
    ("type", "Type"),
    ("data", "Data"),
)


class EventsScreen(LedgerScreen):
    """Every event as it is committed; the cursor follows the newest unless moved up."""

    AUTO_FOCUS = "#events-table"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", id="events.filter", priority=True),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="events.clear_filter"),
        Binding("enter", "open_run", "Open run", id="events.open"),
        Binding("end", "follow", "Follow", id="events.follow"),
        Binding("i", "details", "Details", id="events.details"),
    ]

    def __init__(self, context: ScreenContext) -> None:
        self.events_query = EventsQuery()
        super().__init__(context, self.events_query)
        self.filter_text = ""
        self._events = EventMemory(KEPT)

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        yield Input(
            placeholder="run:ID step:NAME type:step_failed (prefixes work); esc clears",
            id="events-filter",
        )
        yield LiveTable(COLUMNS, id="events-table", opens=True)
        yield Static(
            "No events yet. Start a run with: engine run examples/hello.json",
            id="events-empty",
            classes="empty",
        )
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.title = "Events"
        self.query_one("#events-empty").display = False

    def apply(self, payload: EventsBatch) -> None:
        if payload.filter_text != self.filter_text:
            return
        table = self.query_one(LiveTable)
        if payload.reset:
            table.reset()
            self._events.clear()
        self._events.remember(payload.events)
        variables = self.app.theme_variables
        table.append(
            [
                (str(e.id), event_cells(e, with_run=True, variables=variables))
                for e in payload.events
            ],
            cap=KEPT,
        )
        empty = self.query_one("#events-empty", Static)
        if payload.problem:
            empty.update(payload.problem)
        elif self.filter_text:
            empty.update(f"No events match {self.filter_text!r} yet; esc clears the filter.")
        empty.display = table.row_count == 0
        table.display = table.row_count > 0

    def commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand("Filter", "Filter this view (/)", self.action_filter)
        yield SystemCommand("Clear filter", "Show everything again", self.action_clear_filter)
        yield SystemCommand("Event details", "The event under the cursor (i)", self.action_details)

    def action_filter(self) -> None:
        box = self.query_one("#events-filter", Input)
        box.display = True
        self.set_focus(box)  # at once: the keys typed right after `/` belong to the box

    @on(Input.Submitted, "#events-filter")
    def _submitted(self, event: Input.Submitted) -> None:
        self._set_filter(event.value.strip())
        self.query_one(LiveTable).focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#events-filter", Input)
        box.value = ""
        box.display = False
        self._set_filter("")
        self.query_one(LiveTable).focus()

    def _set_filter(self, text: str) -> None:
        if text != self.filter_text:
            self.filter_text = text
            self.events_query.ask(text)
            self.context.poll_now()

    def action_follow(self) -> None:
        table = self.query_one(LiveTable)
        if table.row_count:
            table.move_cursor(row=table.row_count - 1, animate=False)

    def action_details(self) -> None:
        """Show the event under the cursor whole, as JSON."""
        event = self._events.get(self.query_one(LiveTable).selected_key)
        if event is not None:
            self.app.push_screen(EventDetailScreen(event))

    @on(DataTable.RowSelected, "#events-table")
    def _selected(self) -> None:
        self.action_open_run()

    def action_open_run(self) -> None:
        table = self.query_one(LiveTable)
        key = table.selected_key
        if key is not None:
            run_id = str(table.get_row(key)[1])
            self.post_message(OpenRun(run_id))
