"""View 1, Runs: active runs on top, then history (keyset-paged); `/` filters; enter drills down."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Input, Static

from engine.errors import UserError
from engine.ledger.reader import LedgerReader
from engine.ledger.records import RunSummary
from engine.states import RunStatus
from ledger_tui import format as fmt
from ledger_tui.screens.base import LedgerScreen
from ledger_tui.widgets.cells import plain, status_cell
from ledger_tui.widgets.live_table import Cells, LiveTable

PAGE = 100
MAX_ROWS = 5000  # rows kept in memory however far the user scrolls
HISTORY_FOR_ETA = 20
SCAN_PAGE = 250
SCAN_LIMIT = 2000  # runs looked at per filtered page: ~50 ms on a 2-core VM
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


@dataclass(frozen=True)
class RunsPage:
    active: tuple[RunSummary, ...]
    history: tuple[RunSummary, ...]
    typical_ms: dict[str, float | None]
    filter_text: str


def matches(run: RunSummary, needle: str) -> bool:
    return needle in run.plan_name.lower() or needle in run.id


def read_history(
    reader: LedgerReader, text: str, *, limit: int, before_id: str | None = None
) -> list[RunSummary]:
    """Runs newest first matching the filter: a status exactly, else plan or id containing it.

    A status is answered by its index; other text walks the runs newest first (the runs_created
    index, one keyset page at a time) and stops after `limit` matches or SCAN_LIMIT runs.
    """
    needle = text.strip().lower()
    if not needle:
        return reader.list_runs(limit=limit, before_id=before_id)
    if needle in RunStatus.__members__.values():
        return reader.list_runs(status=RunStatus(needle), limit=limit, before_id=before_id)
    found: list[RunSummary] = []
    scanned = 0
    cursor = before_id
    while len(found) < limit and scanned < SCAN_LIMIT:
        page = reader.list_runs(limit=SCAN_PAGE, before_id=cursor)
        found.extend(run for run in page if matches(run, needle))
        scanned += len(page)
        if len(page) < SCAN_PAGE:
            break
        cursor = page[-1].id
    if not found and before_id is None:
        with contextlib.suppress(UserError):
            detail = reader.get_run(reader.resolve_run_id(needle))
            found = [detail.summary] if detail else []
    return found[:limit]


def read_typical(reader: LedgerReader, plans: set[str]) -> dict[str, float | None]:
    """The median duration of each plan's recent successful runs, for ETAs."""
    return {
        plan: fmt.typical_ms(
            [
                r.duration_ms
                for r in reader.list_runs(
                    status=RunStatus.SUCCEEDED, plan=plan, limit=HISTORY_FOR_ETA
                )
            ]
        )
        for plan in plans
    }


class RunsScreen(LedgerScreen):
    """Active runs first, then history; the cursor stays on its run when rows move."""

    AUTO_FOCUS = "#runs-table"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", id="runs.filter"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="runs.clear_filter"),
        Binding("enter", "open_run", "Open", id="runs.open"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.filter_text = ""
        self._page: RunsPage | None = None
        self._older: list[RunSummary] = []
        self._more = True
        self._paging = False

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        yield Input(
            placeholder="Filter by plan, status or run id; enter applies, esc clears",
            id="runs-filter",
        )
        with Vertical(id="runs-body"):
            yield LiveTable(COLUMNS, id="runs-table")
            yield Static(EMPTY, id="runs-empty", classes="empty")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.title = "Runs"
        self.query_one("#runs-empty").display = False
        self._ticker = self.set_interval(1.0, self._tick, pause=True)

    # -- poll thread ----------------------------------------------------------------------------

    def fetch(self, reader: LedgerReader) -> RunsPage:
        text = self.filter_text
        with reader.snapshot():
            active = [] if text else reader.active_runs()
            history = read_history(reader, text, limit=PAGE + len(active))
            typical = read_typical(
                reader,
                {run.plan_name for run in history if not run.status.is_final}
                | {r.plan_name for r in active},
            )
        return RunsPage(tuple(active), tuple(history), typical, text)

    # -- UI -------------------------------------------------------------------------------------

    def apply(self, payload: RunsPage) -> None:
        if payload.filter_text != self.filter_text:
            return  # fetched for an older filter; the new one is on its way
        self._page = payload
        self._render_rows()

    def _runs(self) -> list[RunSummary]:
        if self._page is None:
            return []
        seen: set[str] = set()
        runs: list[RunSummary] = []
        for run in (*self._page.active, *self._page.history, *self._older):
            if run.id not in seen:
                seen.add(run.id)
                runs.append(run)
        return runs

    def _cells(self, run: RunSummary, now: float) -> Cells:
        variables = self.app.theme_variables
        typical = self._page.typical_ms.get(run.plan_name) if self._page else None
        return (
            status_cell(str(run.status), variables),
            plain(run.plan_name),
            plain(run.id),
            plain(fmt.steps_progress(run)),
            plain(fmt.duration(fmt.elapsed_ms(run, now))),
            plain(fmt.eta(run, typical, now)),
            plain(", ".join(run.running_step_ids) or "-"),
            plain(fmt.clock_time(run.started_at or run.created_at)),
        )

    def _render_rows(self) -> None:
        now = self.ledger_app.clock()
        runs = self._runs()
        table = self.query_one(LiveTable)
        table.sync([(run.id, self._cells(run, now)) for run in runs])
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
        """Advance elapsed times and ETAs of active runs (no ledger access)."""
        now = self.ledger_app.clock()
        table = self.query_one(LiveTable)
        table.sync([(run.id, self._cells(run, now)) for run in self._runs()])

    @on(DataTable.RowHighlighted, "#runs-table")
    def _near_end(self, event: DataTable.RowHighlighted) -> None:
        table = self.query_one(LiveTable)
        if event.cursor_row >= table.row_count - 10 and self._more and not self._paging:
            runs = self._runs()
            if runs and len(runs) < MAX_ROWS and self._page and len(self._page.history) >= PAGE:
                self._paging = True
                self._load_older(runs[-1].id, self.filter_text)

    @work(thread=True, exclusive=True, group="runs-page")
    def _load_older(self, before_id: str, text: str) -> None:
        reader = self.ledger_app.ledger_watch.reader
        older = (
            [] if reader is None else read_history(reader, text, limit=PAGE, before_id=before_id)
        )
        self.app.call_from_thread(self._older_loaded, older, text)

    def _older_loaded(self, older: list[RunSummary], text: str) -> None:
        self._paging = False
        if text != self.filter_text:
            return
        self._more = len(older) >= PAGE
        self._older.extend(older)
        self._render_rows()

    @on(DataTable.RowSelected, "#runs-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        self.action_open_run()

    def action_open_run(self) -> None:
        run_id = self.query_one(LiveTable).selected_key
        if run_id is not None:
            self.ledger_app.open_run(run_id)

    def action_filter(self) -> None:
        box = self.query_one("#runs-filter", Input)
        box.display = True
        box.focus()

    @on(Input.Submitted, "#runs-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self._set_filter(event.value.strip())
        self.query_one(LiveTable).focus()

    @on(Input.Changed, "#runs-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._set_filter(event.value.strip())

    def action_clear_filter(self) -> None:
        box = self.query_one("#runs-filter", Input)
        box.value = ""
        box.display = False
        self._set_filter("")
        self.query_one(LiveTable).focus()

    def _set_filter(self, text: str) -> None:
        if text == self.filter_text:
            return
        self.filter_text = text
        self._older = []
        self._more = True
        self.refetch()
