"""View 3, Events: the live stream of all runs, newest followed, filterable by run/step/type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Input, Static

from engine.errors import UserError
from engine.ledger.reader import LedgerReader
from engine.ledger.records import Event
from engine.states import EventType
from ledger_tui.screens.base import LedgerScreen
from ledger_tui.widgets.cells import event_cells
from ledger_tui.widgets.live_table import LiveTable

FIRST = 200
PER_POLL = 1000
KEPT = 1000
COLUMNS = (
    ("time", "Time (UTC)"),
    ("run", "Run"),
    ("step", "Step"),
    ("type", "Type"),
    ("data", "Data"),
)


@dataclass(frozen=True)
class EventFilter:
    """`run:ID step:NAME type:PREFIX`; a bare word is a run id prefix or an event type prefix."""

    run: str | None = None
    step: str | None = None
    type_prefix: str | None = None

    @classmethod
    def parse(cls, text: str) -> EventFilter:
        values: dict[str, str] = {}
        for word in text.split():
            key, sep, value = word.partition(":")
            if sep and key in ("run", "step", "type") and value:
                values[key] = value
            elif any(t.startswith(word) for t in EventType):
                values["type"] = word
            else:
                values["run"] = word
        return cls(values.get("run"), values.get("step"), values.get("type"))

    def types(self) -> list[str] | None:
        if self.type_prefix is None:
            return None
        return [str(t) for t in EventType if t.startswith(self.type_prefix)] or [self.type_prefix]


@dataclass(frozen=True)
class EventsBatch:
    events: tuple[Event, ...]
    reset: bool
    filter_text: str
    problem: str | None = None


class EventsScreen(LedgerScreen):
    """Every event as it is committed; the cursor follows the newest unless moved up."""

    AUTO_FOCUS = "#events-table"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", id="events.filter"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="events.clear_filter"),
        Binding("enter", "open_run", "Open run", id="events.open"),
        Binding("end", "follow", "Follow", id="events.follow"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.filter_text = ""
        self._fetched_filter: str | None = None  # poll-thread side
        self._after: int | None = None

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        yield Input(
            placeholder="run:ID step:NAME type:step_failed (prefixes work); esc clears",
            id="events-filter",
        )
        yield LiveTable(COLUMNS, id="events-table")
        yield Static(
            "No events yet. Start a run with: engine run examples/hello.json",
            id="events-empty",
            classes="empty",
        )
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.title = "Events"
        self.query_one("#events-empty").display = False

    def fetch(self, reader: LedgerReader) -> EventsBatch:
        text = self.filter_text
        reset = text != self._fetched_filter
        if reset:
            self._fetched_filter, self._after = text, None
        wanted = EventFilter.parse(text)
        run_id = None
        if wanted.run is not None:
            try:
                run_id = reader.resolve_run_id(wanted.run)
            except UserError as error:
                return EventsBatch((), reset, text, error.message)
        step = wanted.step if run_id is not None else None
        if self._after is None:
            events = reader.events(run_id=run_id, step_id=step, types=wanted.types(), limit=FIRST)
        else:
            events = reader.events(
                run_id=run_id,
                step_id=step,
                types=wanted.types(),
                after_id=self._after,
                limit=PER_POLL,
            )
        if events:
            self._after = events[-1].id
        elif self._after is None:
            self._after = 0
        if wanted.step is not None and run_id is None:
            # Step ids are per plan; across all runs the step filter applies to what arrives.
            events = [e for e in events if e.step_id == wanted.step]
        return EventsBatch(tuple(events), reset, text)

    def apply(self, payload: EventsBatch) -> None:
        if payload.filter_text != self.filter_text:
            return
        table = self.query_one(LiveTable)
        if payload.reset:
            table.reset()
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

    def theme_changed(self) -> None:
        super().theme_changed()
        self._fetched_filter = None  # reload the stream, in the new colours

    def action_filter(self) -> None:
        box = self.query_one("#events-filter", Input)
        box.display = True
        box.focus()

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
            self.refetch()

    def action_follow(self) -> None:
        table = self.query_one(LiveTable)
        if table.row_count:
            table.move_cursor(row=table.row_count - 1, animate=False)

    @on(DataTable.RowSelected, "#events-table")
    def _selected(self) -> None:
        self.action_open_run()

    def action_open_run(self) -> None:
        table = self.query_one(LiveTable)
        key = table.selected_key
        if key is not None:
            run_id = str(table.get_row(key)[1])
            self.ledger_app.open_run(run_id)
