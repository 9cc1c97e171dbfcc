"""View 1, Runs: active runs on top, then history (keyset-paged); `/` filters; enter drills down."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Input, Static

from engine.ledger.records import RunSummary
from ledger_tui import format as fmt
from ledger_tui.context import ScreenContext
from ledger_tui.history import PAGE, HistoryPage, newer_runs, older_runs, oldest_runs, runs_at
from ledger_tui.history_window import HistoryWindow, jump_time
from ledger_tui.messages import OpenRun, RunHighlighted
from ledger_tui.queries import RunsAsk, RunsPage, RunsQuery
from ledger_tui.screens.base import LedgerScreen
from ledger_tui.widgets.cells import gone_cell, plain, status_cell
from ledger_tui.widgets.live_table import Cells, LiveTable
from ledger_tui.widgets.run_preview import RunPreview
from ledger_tui.widgets.runs_table import RunsTable

SHORT_ID = 8  # run ids in notes: enough to tell runs apart, as `git log --oneline` does
MAX_ROWS = 5000  # rows kept in memory however far the user scrolls
PREFETCH = 2 * PAGE  # rows ahead of the cursor that are loaded before it gets there
COLUMNS = (
    ("status", "Status"),
    ("plan", "Plan"),
    ("run", "Run"),
    ("steps", "Steps"),
    ("elapsed", "Elapsed"),
    ("eta", "ETA"),
    ("current", "Current"),
    ("started", "Started (UTC)"),
)
EMPTY = (
    "No runs yet.\n\nStart one in another terminal:\n\n    engine run examples/hello.json\n\n"
    "It appears here as soon as it starts."
)


class RunsScreen(LedgerScreen):
    """Active runs first, then history; the cursor stays on its run when rows move."""

    AUTO_FOCUS = "#runs-table"
    # From 160 columns the run under the cursor shows beside the list (app.tcss).
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (160, "-wide")]  # noqa: RUF012 (Textual's type)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", id="runs.filter", priority=True),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="runs.clear_filter"),
        Binding("enter", "open_run", "Open", id="runs.open"),
        Binding("d", "jump_date", "Go to date", show=False, id="runs.jump_date"),
    ]

    def __init__(self, context: ScreenContext) -> None:
        self.runs_query = RunsQuery()
        super().__init__(context, self.runs_query)
        self._announced: str | None = None  # the run under the cursor, as last told to the app
        self.filter_text = ""
        self._page: RunsPage | None = None
        self._history = HistoryWindow()
        self._paging = False
        # Bumped when what is held is replaced (a jump, a filter, home): a page read for the
        # rows held before arrives too late and is dropped (a thread worker cannot be stopped).
        self._epoch = 0
        self._goal: str | None = None  # the run to put the cursor on once it is shown
        self._count = ""

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        yield Input(
            placeholder="Filter by plan, status, tag:NAME or run id; enter applies, esc clears",
            id="runs-filter",
        )
        yield Input(
            placeholder="Go to a date: 2026-12-01, 2026-12-01 14:00 or 3d (ago), UTC; esc closes",
            id="runs-date",
        )
        with Horizontal(id="runs-split"):
            with Vertical(id="runs-body"):
                yield RunsTable(COLUMNS, id="runs-table", opens=True)
                yield Static(EMPTY, id="runs-empty", classes="empty")
                yield Static("", id="runs-count")
            yield RunPreview(self.context, id="runs-preview")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.title = "Runs"
        self.query_one("#runs-empty").display = False
        self._ticker = self.set_interval(1.0, self._tick, pause=True)

    # -- UI -------------------------------------------------------------------------------------

    def apply(self, payload: RunsPage) -> None:
        if payload.filter_text != self.filter_text:
            return  # fetched for an older filter; the new one is on its way
        self._page = payload
        self._history.head_loaded(payload.history)
        self._render_rows()
        self._keep_searching()
        self.query_one(RunPreview).reload()  # the ledger changed: the run shown may have too

    def _runs(self) -> list[RunSummary]:
        if self._page is None:
            return []
        return self._history.rows(self._page.active, self._page.history.runs)

    def _cells(self, run: RunSummary, now: float) -> Cells:
        variables = self.app.theme_variables
        typical = self._page.typical_ms.get(run.plan_name) if self._page else None
        gone = self._page is not None and run.id in self._page.gone and not run.status.is_final
        return (
            gone_cell(variables) if gone else status_cell(run.display_status, variables),
            plain(("↳ " if run.parent_run_id else "") + run.plan_name),  # a sub-plan's run
            plain(run.id),
            plain(fmt.steps_progress(run)),
            plain(fmt.duration(fmt.elapsed_ms(run, now))),
            plain(fmt.eta(run, typical, now)),
            plain(current_text(run)),
            plain(fmt.clock_time(run.started_at or run.created_at)),
        )

    def _render_rows(self) -> None:
        now = self.context.clock()
        runs = self._runs()
        table = self.query_one(RunsTable)
        table.sync([(run.id, self._cells(run, now)) for run in runs])
        table.more_below = self._history.older_cursor is not None
        table.more_above = self._history.detached
        if self._goal is not None and table.select_key(self._goal):
            self._goal = None
        self._announce_cursor()
        empty = self.query_one("#runs-empty", Static)
        if not runs and self._page is not None:
            empty.update(
                f"No run matches {self.filter_text!r}; esc clears the filter."
                if self.filter_text
                else EMPTY
            )
        empty.display = not runs and self._page is not None
        table.display = bool(runs) or self._page is None
        if any(not run.status.is_final for run in runs):
            self._ticker.resume()
        else:
            self._ticker.pause()

    def _tick(self) -> None:
        """Advance elapsed times and ETAs of the active runs on screen, in place (no ledger
        access; the thousands of history rows below never change with the clock)."""
        if self._page is None:
            return
        now = self.context.clock()
        table = self.query_one(LiveTable)
        visible = set(table.visible_keys())
        live = (*self._page.active, *self._page.history.runs)
        table.update_rows(
            [
                (run.id, self._cells(run, now))
                for run in live
                if not run.status.is_final and run.id in visible
            ]
        )

    @on(DataTable.RowHighlighted, "#runs-table")
    def _near_end(self, event: DataTable.RowHighlighted) -> None:
        self._announce_cursor()
        self._prefetch()

    def _prefetch(self) -> None:
        """Load the next page while the cursor is still PREFETCH rows from the end of what is
        held (holding PageDown never waits for one), and above a window likewise."""
        table = self.query_one(LiveTable)
        if table.cursor_row >= table.row_count - PREFETCH:
            self._page_further()
        if self._history.detached and table.cursor_row < PREFETCH:
            self._page_newer()

    def _announce_cursor(self) -> None:
        """Tell the app which run is under the cursor (view 2 opens it); count the rows."""
        table = self.query_one(LiveTable)
        key = table.selected_key
        if key != self._announced:
            self._announced = key
            self.post_message(RunHighlighted(key))
            self.query_one(RunPreview).follow(key)
        self._show_count(table)

    def _show_count(self, table: LiveTable) -> None:
        """`1,234 of 10,000 runs`: the cursor's place in all the runs the filter matches."""
        total = self._page.total if self._page else None
        offset = self._history.offset
        place = table.cursor_row + 1 + (offset or 0)
        if not table.row_count:
            text = ""
        elif total is not None and offset is not None:
            text = f"{place:,} of {max(total, place):,} runs"
        else:
            more = ", more below" if self._history.older_cursor else ""
            text = f"{table.cursor_row + 1:,} of {table.row_count:,} loaded{more}"
        if text != self._count:
            self._count = text
            self.query_one("#runs-count", Static).update(text, layout=False)  # one fixed line

    def _page_further(self) -> None:
        """Load the next older page, if there is one and none is loading."""
        cursor = self._history.older_cursor
        if cursor is not None and not self._paging and len(self._runs()) < MAX_ROWS:
            self._paging = True
            self._load_older(cursor, self.filter_text, self._epoch)

    def _page_newer(self) -> None:
        """Load the next newer page above a window, if none is loading."""
        cursor = self._history.newer_cursor
        if cursor is not None and not self._paging and len(self._runs()) < MAX_ROWS:
            self._paging = True
            self._load_newer(cursor, self.filter_text, self._epoch)

    @work(thread=True, exclusive=True, group="runs-page")
    def _load_newer(self, after_id: str, text: str, epoch: int) -> None:
        reader = self.context.reader()
        if reader is not None:
            page = newer_runs(reader, text, after_id)
            self.app.call_from_thread(self._newer_loaded, page, epoch)

    def _newer_loaded(self, page: HistoryPage, epoch: int) -> None:
        if epoch != self._epoch:
            return
        self._paging = False
        if not self._history.detached:
            return
        down_to = self._history.newer_loaded(page)
        if self._history.window is None:  # the window reached the newest run: the head again
            self.runs_query.ask(RunsAsk(self.filter_text, down_to))
            self.context.poll_now()
        self._render_rows()
        self._prefetch()

    @on(RunsTable.Edge)
    def _to_edge(self, event: RunsTable.Edge) -> None:
        if event.oldest:
            self._jump(None)
        else:
            self._goal = None
            self._reset_history(self.filter_text)
            self.query_one(LiveTable).move_cursor(row=0, animate=False)

    def action_jump_date(self) -> None:
        box = self.query_one("#runs-date", Input)
        box.display = True
        box.focus()

    @on(Input.Submitted, "#runs-date")
    def _date_submitted(self, event: Input.Submitted) -> None:
        at = jump_time(event.value, self.context.clock())
        if at is None:
            self.notify(f"Not a date: {event.value!r}; try 2026-12-01, 2026-12-01 14:00 or 3d.")
            return
        self._close_date()
        self._jump(at)

    def _close_date(self) -> None:
        box = self.query_one("#runs-date", Input)
        box.value = ""
        box.display = False
        self.query_one(LiveTable).focus()

    def _jump(self, at: float | None) -> None:
        """Hold the page of runs at `at` (the oldest when None) instead of what is held now."""
        self._epoch += 1
        self._paging = True
        self._load_jump(at, self.filter_text, self._epoch)

    @work(thread=True, exclusive=True, group="runs-page")
    def _load_jump(self, at: float | None, text: str, epoch: int) -> None:
        reader = self.context.reader()
        if reader is not None:
            page, offset = oldest_runs(reader, text) if at is None else runs_at(reader, text, at)
            self.app.call_from_thread(self._jumped, page, offset, epoch, at is None)

    def _jumped(self, page: HistoryPage, offset: int | None, epoch: int, oldest: bool) -> None:
        if epoch != self._epoch:
            return
        self._paging = False
        if not page.runs:
            self.notify("No run was created at or before that time.")
            return
        self._history.jumped(page, offset)
        self._goal = page.runs[-1].id if oldest else page.runs[0].id
        if not self._history.detached:
            self.runs_query.ask(RunsAsk(self.filter_text, self._history.older[0]), refresh=False)
        self._render_rows()

    @work(thread=True, exclusive=True, group="runs-page")
    def _load_older(self, before_id: str, text: str, epoch: int) -> None:
        reader = self.context.reader()
        if reader is not None:
            page = older_runs(reader, text, before_id)
            self.app.call_from_thread(self._older_loaded, page, epoch)

    def _older_loaded(self, page: HistoryPage, epoch: int) -> None:
        if epoch != self._epoch:
            return
        self._paging = False
        down_to = self._history.older_loaded(page)
        if not self._history.detached:
            self.runs_query.ask(RunsAsk(self.filter_text, down_to), refresh=False)
        self._render_rows()
        self._keep_searching()
        self._prefetch()  # still near the end (PageDown held): the next page at once

    def _keep_searching(self) -> None:
        """A filter that matched little so far searches further back by itself."""
        if self.filter_text and len(self._runs()) < PAGE:
            self._page_further()

    @on(DataTable.RowSelected, "#runs-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        self.action_open_run()

    def action_open_run(self) -> None:
        run_id = self.query_one(LiveTable).selected_key
        if run_id is not None:
            self.post_message(OpenRun(run_id))

    def commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand("Filter", "Filter this view (/)", self.action_filter)
        yield SystemCommand("Clear filter", "Show everything again", self.action_clear_filter)

    def action_filter(self) -> None:
        box = self.query_one("#runs-filter", Input)
        box.display = True
        self.set_focus(box)  # at once: the keys typed right after `/` belong to the box

    @on(Input.Submitted, "#runs-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self._set_filter(event.value.strip())
        self.query_one(LiveTable).focus()

    @on(Input.Changed, "#runs-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._set_filter(event.value.strip())

    def action_clear_filter(self) -> None:
        if self.query_one("#runs-date", Input).display:
            self._close_date()  # esc closes the date box first
            return
        box = self.query_one("#runs-filter", Input)
        box.value = ""
        box.display = False
        self._set_filter("")
        self.query_one(LiveTable).focus()

    def _set_filter(self, text: str) -> None:
        if text == self.filter_text:
            return
        self._reset_history(text)

    def _reset_history(self, text: str) -> None:
        """Back to the newest runs matching `text`, nothing older held."""
        self.filter_text = text
        self._history = HistoryWindow()
        self._epoch += 1
        self._paging = False
        self.runs_query.ask(RunsAsk(text))
        self.context.poll_now()


def current_text(run: RunSummary) -> str:
    """The Current column: the steps running now, or the run its concurrency group waits for."""
    if run.waiting is not None:
        return run.waiting.note(SHORT_ID)
    return ", ".join(run.running_step_ids) or "-"
