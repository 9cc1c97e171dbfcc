"""A step's log that follows its tail; scrolling up pauses following and counts new lines.

The status line under it says how a finished attempt ended instead of "following".
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.style import Style
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Input, Log, Static

from ledger_tui.widgets.log_search import LogSearch, MatchHighlighter

MAX_LINES = 10_000


class LogPane(Vertical):
    """A Log (which only renders visible lines) with a one-line follow status under it."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.new_lines = 0
        self.title = ""
        self.state: str | None = None  # how the shown attempt ended; None while it runs
        self.search = LogSearch()
        self._focused_before: Widget | None = None
        self._highlighter = MatchHighlighter(Style(reverse=True, bold=True))

    def compose(self) -> ComposeResult:
        yield Log(max_lines=MAX_LINES, id="log-lines")
        yield Input(placeholder="search the log (enter: find, esc: close)", id="log-search")
        yield Static("", id="log-status", markup=False)  # step ids like test[os=linux]

    def on_mount(self) -> None:
        log = self.query_one(Log)
        log.highlighter = self._highlighter
        self.query_one("#log-search", Input).display = False
        # Anchored, the log stays at its end when the layout later shrinks it (the steps table
        # above grows once its rows are measured); scrolling up releases the anchor.
        log.anchor()
        self.watch(log, "scroll_y", self._scrolled, init=False)
        self._show_status()

    @property
    def following(self) -> bool:
        log = self.query_one(Log)
        return log.is_vertical_scroll_end or log.max_scroll_y == 0

    def reset(
        self, title: str, lines: Sequence[str], note: str | None = None, state: str | None = None
    ) -> None:
        log = self.query_one(Log)
        log.clear()
        self.title = title
        self.state = state
        self.new_lines = 0
        if note:
            log.write_line(note)
        if lines:
            log.write_lines(lines)
        log.scroll_end(animate=False)
        self._show_status()

    def append(self, lines: Sequence[str], state: str | None = None) -> None:
        if not lines and state == self.state:
            return
        self.state = state
        following = self.following
        self.query_one(Log).write_lines(lines)
        if not following:
            self.new_lines += len(lines)
        self._show_status()

    def follow(self) -> None:
        self.query_one(Log).scroll_end(animate=False)
        self.new_lines = 0
        self._show_status()

    def _scrolled(self, _value: float) -> None:
        if self.following and self.new_lines:
            self.new_lines = 0
        self._show_status()

    # -- search ---------------------------------------------------------------------------------

    def open_search(self) -> None:
        """Show the search field (`/`)."""
        field = self.query_one("#log-search", Input)
        self._focused_before = self.screen.focused
        field.display = True
        field.value = self.search.term
        # At once, not on the next idle as focus() does: keys typed right after `/` (a fast
        # typist, a paste, tmux send-keys) already wait in the queue and belong to the field.
        self.screen.set_focus(field)

    @on(Input.Submitted, "#log-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._close_search()
        log = self.query_one(Log)
        self._highlight(event.value)
        self._show_line(self.search.find(log.lines, event.value, int(log.scroll_y)))

    def on_key(self, event: object) -> None:
        from textual.events import Key

        field = self.query_one("#log-search", Input)
        if isinstance(event, Key) and event.key == "escape" and field.has_focus:
            event.stop()
            self._close_search()

    def _close_search(self) -> None:
        field = self.query_one("#log-search", Input)
        field.display = False
        self.screen.set_focus(self._focused_before)

    def next_match(self, forward: bool = True) -> None:
        """Go to the next (or previous) match, wrapping around."""
        self._show_line(self.search.step(self.query_one(Log).lines, forward))

    def _highlight(self, term: str) -> None:
        log = self.query_one(Log)
        self._highlighter.term = term
        log.highlight = bool(term)
        log.notify_style_update()  # drops the lines rendered with the old term
        log.refresh()

    def _show_line(self, line: int | None) -> None:
        if line is not None:
            log = self.query_one(Log)
            log.scroll_to(y=max(0, line - log.size.height // 2), animate=False, immediate=True)
        self._show_status()

    def _show_status(self) -> None:
        status = self.query_one("#log-status", Static)
        found = self.search.describe()
        if found:
            status.update(f"{self.title}  {found}")
            status.set_class(False, "has-new")
        elif self.state is not None:
            status.update(f"{self.title}  ■ {self.state}")
            status.set_class(False, "has-new")
        elif not self.following:
            more = f"{self.new_lines} new lines" if self.new_lines else "no new lines"
            status.update(f"{self.title}  ⏸ paused, {more}; press f or end to follow")
            status.set_class(bool(self.new_lines), "has-new")
        else:
            status.update(f"{self.title}  ● following")
            status.set_class(False, "has-new")
