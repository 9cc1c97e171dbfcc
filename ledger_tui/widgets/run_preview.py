"""The Runs view's right-hand pane on wide terminals: the run under the cursor, its steps and the
log of the step worth a look (the one the run detail would open on).

It reads with a run detail's query of its own, in a worker thread, when the cursor settles on a
run (after PAUSE_SEC, so scrolling through runs reads none of those passed) and whenever the
Runs view got fresh data; a result for a run the cursor has left is dropped.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.timer import Timer
from textual.widgets import Log, Static

from ledger_tui import format as fmt
from ledger_tui.context import ScreenContext
from ledger_tui.queries import RunPayload, RunQuery
from ledger_tui.widgets.cells import plain, status_cell
from ledger_tui.widgets.live_table import LiveTable

COLUMNS = (("status", "Status"), ("step", "Step"), ("attempt", "Att"), ("duration", "Duration"))
LOG_LINES = 1000  # the pane is a glance; the run detail keeps 10,000
PAUSE_SEC = 0.15


class RunPreview(Vertical):
    """Shows one run's payload; `show` is called with each fresh read of it."""

    def __init__(self, context: ScreenContext, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.context = context
        self.run_id: str | None = None  # the run shown
        self.wanted: str | None = None  # the run under the cursor
        self._log_of: tuple[str | None, str | None] = (None, None)  # (run, step) the log is of
        self._query: RunQuery | None = None  # worker threads only, under _lock
        self._lock = threading.Lock()
        self._reads = itertools.count(1)  # each read counts as a new ledger version: SQL runs
        self._timer: Timer | None = None

    def follow(self, run_id: str | None) -> None:
        """Show `run_id` once the cursor stayed on it for PAUSE_SEC."""
        if run_id == self.wanted:
            return
        self.wanted = run_id
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(PAUSE_SEC, self.reload)

    def reload(self) -> None:
        """Read the wanted run again (the ledger changed)."""
        if self.wanted is not None and self.display:
            self._read(self.wanted)

    def on_resize(self) -> None:
        self.reload()  # shown when the terminal grew to 160 columns: read what the cursor is on

    @work(thread=True, group="preview")
    def _read(self, run_id: str) -> None:
        reader = self.context.reader()
        if reader is None:
            return
        with self._lock:
            if self._query is None or self._query.run_id != run_id:
                self._query = RunQuery(run_id, self.context.ledger_path)
            payload = self._query.run(reader, next(self._reads))
        self.app.call_from_thread(self._loaded, run_id, payload)

    def _loaded(self, run_id: str, payload: RunPayload) -> None:
        if run_id == self.wanted and self.is_attached:
            self.show(run_id, payload, self.app.theme_variables)

    def compose(self) -> ComposeResult:
        yield Static("", id="preview-title")
        yield LiveTable(COLUMNS, id="preview-steps")
        yield Static("", id="preview-log-title")
        yield Log(id="preview-log", max_lines=LOG_LINES)

    def show(self, run_id: str, payload: RunPayload, variables: Mapping[str, str]) -> None:
        detail = payload.detail
        title = self.query_one("#preview-title", Static)
        if detail is None:
            title.update(f"Run {run_id} is not in the ledger.")
            return
        run = detail.summary
        title.update(
            f"{run.status}  {run.plan_name}  {run.id}  steps {fmt.steps_progress(run)}",
            layout=False,
        )
        self.query_one("#preview-steps", LiveTable).sync(
            [
                (
                    step.step_id,
                    (
                        status_cell(str(step.status), variables),
                        plain(step.step_id),
                        plain(str(step.attempts)),
                        plain(fmt.duration(step.duration_ms)),
                    ),
                )
                for step in payload.steps
            ]
        )
        log = self.query_one("#preview-log", Log)
        if (run_id, payload.step_id) != self._log_of or payload.log.reset:
            self._log_of = (run_id, payload.step_id)
            log.clear()
            self.query_one("#preview-log-title", Static).update(
                f"log of {payload.step_id}" if payload.step_id else "no step has a log yet",
                layout=False,
            )
        if payload.log.lines:
            log.write_lines(payload.log.lines)
        self.run_id = run_id
