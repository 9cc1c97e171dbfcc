"""View 2, Run detail: the steps, and tabs for the selected step's log, events, plan, vars,
outputs and error; cancel the run or a step after a confirmation."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Static, TabbedContent, TabPane

from engine.errors import UserError
from engine.ledger.records import RunDetail, StepState
from ledger_tui import format as fmt
from ledger_tui.cancel_watch import CancelWatch, refusal
from ledger_tui.context import ScreenContext
from ledger_tui.log_status import LogChoice, attempt_title, log_state
from ledger_tui.queries import RunPayload, RunQuery
from ledger_tui.screens.confirm import ConfirmScreen
from ledger_tui.screens.event_detail import EventDetailScreen, EventMemory
from ledger_tui.screens.extend import RunExtendScreen
from ledger_tui.step_rows import group_key, group_of_key
from ledger_tui.sub_plans import parent_note
from ledger_tui.widgets.cells import event_cells, status_cell, theme_style
from ledger_tui.widgets.graph import GraphView, graph_pane
from ledger_tui.widgets.live_table import LiveTable
from ledger_tui.widgets.log_pane import LogPane
from ledger_tui.widgets.run_texts import show_texts, text_panes
from ledger_tui.widgets.step_cells import StepList
from ledger_tui.widgets.timeline import TimelineView, timeline_pane

EVENTS_KEPT = 1000
STEP_COLUMNS = (
    ("step", "Step"),
    ("status", "Status"),
    ("attempt", "Attempt"),
    ("duration", "Duration"),
    ("exit", "Exit"),
    ("cpu", "CPU"),
    ("rss", "Max RSS"),
    ("reason", "Reason"),
)
EVENT_COLUMNS = (("time", "Time (UTC)"), ("step", "Step"), ("type", "Type"), ("data", "Data"))
TABS = (
    "tab-log",
    "tab-events",
    "tab-timeline",
    "tab-graph",
    "tab-plan",
    "tab-vars",
    "tab-outputs",
    "tab-error",
)


class RunDetailScreen(RunExtendScreen):
    """One run, live."""

    AUTO_FOCUS = "#steps-table"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", show=False, id="run.back"),
        Binding("c", "cancel_run", "Cancel", id="run.cancel"),
        Binding("x", "cancel_step", "Cancel step", id="run.cancel_step"),
        Binding("r", "resume", "Resume", show=False, id="run.resume"),
        Binding("f", "follow", "Follow log", show=False, id="run.follow"),
        Binding("t", "next_tab", "Next tab", show=False, id="run.next_tab"),
        Binding("a", "older_attempt", "Attempt", show=False, id="run.attempt"),
    ]

    def __init__(self, context: ScreenContext, run_id: str) -> None:
        self.run_query = RunQuery(run_id, context.ledger_path)
        super().__init__(context, self.run_query)
        self.run_id = run_id
        self.selected_step: str | None = None
        self._placed = False  # the cursor was put on the first step worth a look
        self._step_list = StepList()
        self._choice = LogChoice()  # the log asked for; results read for another are dropped
        self._cancel_watch: CancelWatch | None = None
        self._events = EventMemory(EVENTS_KEPT)
        self._payload: RunPayload | None = None

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        yield Static("", id="run-header")
        yield LiveTable(STEP_COLUMNS, id="steps-table", opens=True)
        with TabbedContent(id="run-tabs"):
            with TabPane("Log", id="tab-log"):
                yield LogPane(id="log-pane")
            with TabPane("Events", id="tab-events"):
                yield LiveTable(EVENT_COLUMNS, id="run-events", opens=True)
            yield timeline_pane(self.context.clock)
            yield graph_pane()
            yield from text_panes()
        yield from self.compose_footer()

    def run_screen(self, run_id: str) -> RunDetailScreen:
        return RunDetailScreen(self.context, run_id)

    def extend_context(self) -> tuple[RunDetail | None, StepState | None]:
        payload, key = self._payload, self.selected_step
        if payload is None:
            return None, None
        return payload.detail, next((s for s in payload.steps if s.step_id == key), None)

    def on_mount(self) -> None:
        self.title = f"Run {self.run_id}"
        self._ticker = self.set_interval(1.0, self._render_header, pause=True)
        self.query_one("#steps-table").focus()

    # -- UI -------------------------------------------------------------------------------------

    def apply(self, payload: RunPayload) -> None:
        self._payload = payload
        if payload.detail is None:
            self.query_one("#run-header", Static).update(
                f"There is no run {self.run_id} in this ledger (removed by gc?). esc goes back."
            )
            return
        self.links = payload.links
        self._render_header()
        steps = self.query_one("#steps-table", LiveTable)
        # A result read for an earlier choice is outdated for the log (the cursor moved since):
        # its rows and events still count, its log and step do not.
        current = payload.choice.serial == self._choice.serial
        place = current and not self._placed and payload.step_id is not None
        if place and payload.step_id is not None:
            self._step_list.expand_group_of(payload.step_id)
        self._sync_steps()
        if place and payload.step_id:
            # Once: the step worth looking at first (step_rows.default_step). Later the cursor is
            # the user's alone (a key pressed while this result was on its way must not be undone).
            steps.select_key(payload.step_id)
            self.selected_step = payload.step_id
            self._placed = True
        variables = self.app.theme_variables
        self._events.remember(payload.events)
        self.query_one("#run-events", LiveTable).append(
            [
                (str(e.id), event_cells(e, with_run=False, variables=variables))
                for e in payload.events
            ],
            cap=EVENTS_KEPT,
        )
        if current:
            self._render_log(payload)
        self._check_cancel(payload)
        show_texts(self, payload.detail, payload.outputs, payload.attempts)
        self.query_one(TimelineView).show(payload.detail, payload.attempts)
        self.query_one(GraphView).show(payload.detail, payload.steps)
        if payload.detail.status.is_final:
            self._ticker.pause()
        else:
            self._ticker.resume()

    def theme_changed(self) -> None:
        super().theme_changed()
        self._step_list.forget()
        self.query_one("#run-events", LiveTable).reset()  # the query reloads them on restart

    def _render_header(self) -> None:
        if self._payload is None or self._payload.detail is None:
            return
        run = self._payload.detail.summary
        now = self.context.clock()
        header = Text.assemble(
            status_cell(run.display_status, self.app.theme_variables),
            "  ",
            (run.plan_name, "bold"),
            f"  {run.id}  ",
            f"steps {fmt.steps_progress(run)}  started {fmt.clock_time(run.started_at)}  ",
            f"elapsed {fmt.duration(fmt.elapsed_ms(run, now))}",
        )
        if run.error:
            header.append(f"\n{run.error}")
        if self._payload.waiting:
            warning = theme_style(self.app.theme_variables, "warning")
            header.append(f"\n{self._payload.waiting}", style=warning)
        for note in fmt.circuit_notes(self._payload.steps, self._payload.last_attempts):
            header.append(f"\n{note}", style=theme_style(self.app.theme_variables, "error"))
        parent = parent_note(self.links)
        if parent:
            header.append(f"\n{parent}")
        if self._payload.owner_gone:
            error = theme_style(self.app.theme_variables, "error")
            header.append(f"\n{self._payload.owner_gone}", style=error)
        self.query_one("#run-header", Static).update(header)

    def _render_log(self, payload: RunPayload) -> None:
        pane = self.query_one(LogPane)
        chunk = payload.log
        self.log_path = chunk.path
        step = next((s for s in payload.steps if s.step_id == payload.step_id), None)
        shown = payload.shown
        title = attempt_title(payload.step_id, shown, step.attempts if step else 0)
        state = log_state(step, shown)
        if chunk.reset:
            note = None
            if chunk.path is None:
                note = state
            elif chunk.missing:
                note = f"The log file {chunk.path} is gone (removed by gc?)."
            elif chunk.skipped_bytes:
                note = f"… {chunk.skipped_bytes} earlier bytes not shown (see {chunk.path})"
            pane.reset(title, chunk.lines, note, state)
        else:
            pane.append(chunk.lines, state)

    @on(DataTable.RowHighlighted, "#steps-table")
    def _step_highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = self.query_one("#steps-table", LiveTable).selected_key
        # Before the first step is placed, a highlight is the table's own first row, not a choice.
        if group_of_key(key) is not None:
            return  # a matrix step's heading: the log stays the last step's
        if self._placed and key is not None and key != self.selected_step:
            self.selected_step = key
            self._ask_log(key, None)

    def _ask_log(self, step_id: str, attempt: int | None) -> None:
        self._choice = self._choice.choose(step_id, attempt)
        self.run_query.ask(self._choice)
        self.context.poll_now()

    def action_older_attempt(self) -> None:
        """Show the selected step's previous attempt's log; from the first, the latest again."""
        payload, step_id = self._payload, self.selected_step
        if payload is None or step_id is None:
            return
        numbers = [a.attempt for a in payload.attempts if a.step_id == step_id]
        if len(numbers) < 2:
            self.notify(f"Step {step_id} has only {len(numbers)} attempt(s).")
            return
        shown = self._choice.attempt if self._choice.step_id == step_id else None
        position = numbers.index(shown) if shown in numbers else len(numbers) - 1
        older = numbers[position - 1] if position > 0 else None  # None: the latest
        self.query_one(TabbedContent).active = "tab-log"
        self._ask_log(step_id, older)

    @on(GraphView.StepChosen)
    def _graph_step_chosen(self, message: GraphView.StepChosen) -> None:
        table = self.query_one("#steps-table", LiveTable)
        self._step_list.expand_group_of(message.step_id)
        self._sync_steps()
        table.select_key(message.step_id)
        table.focus()
        self.query_one(TabbedContent).active = "tab-log"

    @on(DataTable.RowSelected, "#run-events")
    def _event_selected(self) -> None:
        event = self._events.get(self.query_one("#run-events", LiveTable).selected_key)
        if event is not None:
            self.app.push_screen(EventDetailScreen(event))

    @on(DataTable.RowSelected, "#steps-table")
    def _step_selected(self) -> None:
        table = self.query_one("#steps-table", LiveTable)
        base = group_of_key(table.selected_key)
        if base is None:
            if not self.open_child(table.selected_key):  # a plan step opens its child run
                self.query_one(TabbedContent).active = "tab-log"
            return
        self._step_list.toggle(base)  # enter on a matrix step's heading opens or closes it
        self._sync_steps()
        table.select_key(group_key(base))

    def _sync_steps(self) -> None:
        if self._payload is not None:
            now, variables = self.context.clock(), self.app.theme_variables
            rows = self._step_list.rows(self._payload, self.links, now, variables)
            self.query_one("#steps-table", LiveTable).sync(rows)

    def commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand(
            "Cancel run", f"Ask the engine to cancel {self.run_id}", self.action_cancel_run
        )
        yield SystemCommand("Cancel step", "Cancel the chosen step", self.action_cancel_step)
        yield SystemCommand("Follow log", "Jump to the end of the log", self.action_follow)
        yield from self.log_commands()
        yield from self.link_commands()
        yield SystemCommand(
            "Previous attempt", "Show the chosen step's previous attempt's log (a)",
            self.action_older_attempt,
        )  # fmt: skip

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_follow(self) -> None:
        self.query_one(TabbedContent).active = "tab-log"
        self.query_one(LogPane).follow()

    def action_next_tab(self) -> None:
        tabs = self.query_one(TabbedContent)
        index = TABS.index(tabs.active) if tabs.active in TABS else -1
        tabs.active = TABS[(index + 1) % len(TABS)]

    def action_cancel_run(self) -> None:
        self._confirm_cancel(None)

    def action_cancel_step(self) -> None:
        step = self.query_one("#steps-table", LiveTable).selected_key
        if step is None or group_of_key(step) is not None:
            self.notify("Select a step first (enter opens a matrix step).", severity="warning")
            return
        self._confirm_cancel(step)

    def _confirm_cancel(self, step_id: str | None) -> None:
        if self._payload is not None:
            refused = refusal(self._payload, step_id)
            if refused:
                self.notify(refused, severity="warning")
                return
        what = f"step {step_id} of run {self.run_id}" if step_id else f"run {self.run_id}"

        def answered(yes: bool | None) -> None:
            if yes:
                self._send_cancel(step_id)

        self.app.push_screen(ConfirmScreen(f"Cancel {what}?", "Cancel it"), answered)

    def action_resume(self) -> None:
        """Start `engine resume` for a finished run, after a confirmation."""
        detail = self._payload.detail if self._payload else None
        if detail is None or not detail.status.is_final:
            self.notify("Only a finished run can be resumed.", severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._start_resume()

        question = f"Resume run {self.run_id} ({detail.status}): re-run what did not succeed?"
        self.app.push_screen(ConfirmScreen(question, "Resume it"), answered)

    @work(thread=True, group="resume")
    def _start_resume(self) -> None:
        from ledger_tui.resume import start_resume

        try:
            pid = start_resume(self.run_id, self.context.ledger_path)
        except OSError as error:
            self.app.call_from_thread(
                self.notify, f"Could not start engine resume: {error.strerror}.", severity="error"
            )
            return
        self.app.call_from_thread(
            self.notify, f"Started engine resume {self.run_id} (pid {pid}); the new run is in Runs."
        )

    @work(thread=True, group="cancel")
    def _send_cancel(self, step_id: str | None) -> None:
        try:
            self.context.request_cancel(self.run_id, step_id)
        except UserError as error:
            self.app.call_from_thread(self.notify, error.message, severity="error")
            return
        what = f"step {step_id}" if step_id else "the run"
        self.app.call_from_thread(self._watch_cancel, step_id)
        self.app.call_from_thread(self.notify, f"Asked the engine to cancel {what}.")

    def _watch_cancel(self, step_id: str | None) -> None:
        """Say whether the cancel took effect once the ledger tells, or that it did not yet."""
        watch = CancelWatch(step_id)
        self._cancel_watch = watch
        self.set_timer(watch.patience_sec, lambda: self._cancel_overdue(watch))
        if self._payload is not None:
            self._check_cancel(self._payload)

    def _check_cancel(self, payload: RunPayload) -> None:
        watch = self._cancel_watch
        if watch is None:
            return
        outcome = watch.outcome(payload)
        if outcome is not None:
            self._cancel_watch = None
            self.notify(outcome[0], severity=outcome[1])

    def _cancel_overdue(self, watch: CancelWatch) -> None:
        if self._cancel_watch is watch:
            self._cancel_watch = None
            self.notify(watch.overdue(), severity="warning")
