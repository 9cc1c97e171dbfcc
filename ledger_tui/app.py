"""The dashboard app: four views over one read-only ledger connection and one poll loop."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import ClassVar

from textual.app import App, ScreenStackError, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from engine.errors import LedgerError
from engine.states import ExitCode
from ledger_tui import format as fmt
from ledger_tui.commands import RunJumpProvider
from ledger_tui.context import ScreenContext
from ledger_tui.messages import Loaded, Notice, OpenRun, RunHighlighted, ScreenShown
from ledger_tui.poller import Poller
from ledger_tui.screens.base import LedgerScreen
from ledger_tui.screens.events import EventsScreen
from ledger_tui.screens.run_detail import RunDetailScreen
from ledger_tui.screens.runs import RunsScreen
from ledger_tui.screens.stats import StatsScreen
from ledger_tui.watch import DEFAULT_POLL_INTERVAL, LedgerWatch

Clock = Callable[[], float]
# The four views share one footer entry ("1234 Views"), so `?` and `q` fit at 80 columns.
VIEWS = Binding.Group("Views", compact=True)


class _ToScreens:
    """The poller's sink: what it found reaches the UI thread as messages and calls."""

    def __init__(self, app: LedgerApp) -> None:
        self._app = app

    def loaded(self, target: LedgerScreen, payload: object) -> None:
        target.post_message(Loaded(payload))

    def missing(self, missing: bool) -> None:
        self._app.call_from_thread(self._app._show_missing, missing)

    def transient(self, message: str) -> None:
        self._app.call_from_thread(self._app.notify, message, severity="error")

    def fatal(self, error: LedgerError) -> None:
        self._app.call_from_thread(self._app._fatal, error)


class LedgerApp(App[None]):
    """`ledger-tui`: watch runs, steps and events as the engine records them."""

    CSS_PATH = "app.tcss"
    TITLE = "ledger-tui"
    DEFAULT_MODE = "runs"
    COMMANDS = App.COMMANDS | {RunJumpProvider}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "view('runs')", "Runs", id="app.view_runs", group=VIEWS),
        Binding("2", "view_run", "Run", id="app.view_run", group=VIEWS),
        Binding("3", "view('events')", "Events", id="app.view_events", group=VIEWS),
        Binding("4", "view('stats')", "Stats", id="app.view_stats", group=VIEWS),
        Binding("question_mark", "toggle_help", "Keys", id="app.help"),
        Binding("q", "quit", "Quit", id="app.quit"),
    ]

    def __init__(
        self,
        ledger_path: Path,
        *,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        theme_name: str | None = None,
        keymap: Mapping[str, str] | None = None,
        clock: Clock = time.time,
        display_path: str | None = None,
    ) -> None:
        super().__init__()
        self.ledger_path = ledger_path
        # The header shows which ledger this is; tests pass a fixed `display_path` (their
        # ledger lives in a new temporary directory each time) so snapshots stay stable.
        self.sub_title = display_path or fmt.short_path(ledger_path)
        self.ledger_watch = LedgerWatch(ledger_path)
        self.poller: Poller[LedgerScreen] = Poller(
            self.ledger_watch, poll_interval, _ToScreens(self)
        )
        self._theme_name = theme_name
        self._keymap = dict(keymap or {})
        self._visible: LedgerScreen | None = None
        self._missing = False
        self.last_run_id: str | None = None
        self._runs_cursor: str | None = None  # the run under the Runs view's cursor
        self.context = ScreenContext(
            ledger_path, clock, lambda: self.ledger_watch.reader, self.poller.wake
        )
        self.add_mode("runs", lambda: RunsScreen(self.context))
        self.add_mode("events", lambda: EventsScreen(self.context))
        self.add_mode("stats", lambda: StatsScreen(self.context))

    def clear_selection(self) -> None:
        """Clears the text selection; a no-op while no screen is up yet.

        On CPython 3.12 and later, Textual 8.2 mounts the default mode's screen (and its filter
        Input, whose watcher clears the selection) before that screen is on the stack.
        """
        with contextlib.suppress(ScreenStackError):
            super().clear_selection()

    def on_mount(self) -> None:
        if self._theme_name:
            if self._theme_name not in self.available_themes:
                names = ", ".join(sorted(self.available_themes))
                self.exit(
                    return_code=ExitCode.USAGE,
                    message=f"Unknown theme {self._theme_name!r}; try: {names}.",
                )
                return
            self.theme = self._theme_name
        if self._keymap:
            self.set_keymap(self._keymap)
        self.run_worker(self.poller.run(), name="poll", group="poll", exclusive=True)

    # -- what the poller found ------------------------------------------------------------------

    def _show_missing(self, missing: bool) -> None:
        self._missing = missing
        if self._visible is not None:
            self._visible.post_message(Notice(self._missing_text() if missing else None))

    def _fatal(self, error: LedgerError) -> None:
        self.exit(return_code=int(error.exit_code), message=f"ledger-tui: {error.message}")

    def _missing_text(self) -> str:
        return (
            f"There is no ledger at {self.ledger_path} yet; waiting for it to appear. "
            "Start a run with: engine run examples/hello.json"
        )

    @property
    def polls_completed(self) -> int:
        """How many polls have finished: once it is 2 past a value read earlier, a whole poll ran
        after that read and its data is queued for the screen (tests wait on this, not a sleep)."""
        return self.poller.completed

    def on_screen_shown(self, message: ScreenShown) -> None:
        """A live screen became visible: only its query runs from now on."""
        screen = message.screen
        self._visible = screen
        screen.post_message(Notice(self._missing_text() if self._missing else None))
        self.poller.watch_query(screen.ledger_query, screen)

    # -- navigation -----------------------------------------------------------------------------

    def action_view(self, mode: str) -> None:
        if self.current_mode != mode:
            self.switch_mode(mode)
        if mode == "runs":  # view 1 is the list, even where a run was opened on top of it
            while isinstance(self.screen, RunDetailScreen):
                self.pop_screen()

    def action_view_run(self) -> None:
        """View 2: the run chosen last, else the one under the cursor in Runs."""
        run_id = self.last_run_id
        if isinstance(self.screen, RunsScreen):
            run_id = self._runs_cursor or run_id
        if run_id is None:
            self.notify("Pick a run in the Runs view first (enter opens it).")
            return
        self.open_run(run_id)

    def open_run(self, run_id: str) -> None:
        """Show run `run_id` on top of the Runs view."""
        self.last_run_id = run_id
        if self.current_mode != "runs":
            self.switch_mode("runs")
        if isinstance(self.screen, RunDetailScreen):
            if self.screen.run_id == run_id:
                return
            self.pop_screen()
        self.push_screen(RunDetailScreen(self.context, run_id))

    def on_open_run(self, message: OpenRun) -> None:
        self.open_run(message.run_id)

    def on_run_highlighted(self, message: RunHighlighted) -> None:
        self._runs_cursor = message.run_id

    def action_toggle_help(self) -> None:
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield SystemCommand(
            "Runs view", "Active runs and history (1)", lambda: self.action_view("runs")
        )
        yield SystemCommand(
            "Events view", "The live event stream (3)", lambda: self.action_view("events")
        )
        yield SystemCommand(
            "Stats view", "Success rates and durations (4)", lambda: self.action_view("stats")
        )
        if isinstance(screen, LedgerScreen):
            yield from screen.commands()  # only what makes sense on this screen
        yield from super().get_system_commands(screen)
