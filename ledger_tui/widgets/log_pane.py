"""A step's log that follows its tail; scrolling up pauses following and counts new lines.

The status line under it says how a finished attempt ended instead of "following".
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Log, Static

MAX_LINES = 10_000


class LogPane(Vertical):
    """A Log (which only renders visible lines) with a one-line follow status under it."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.new_lines = 0
        self.title = ""
        self.state: str | None = None  # how the shown attempt ended; None while it runs

    def compose(self) -> ComposeResult:
        yield Log(max_lines=MAX_LINES, id="log-lines")
        yield Static("", id="log-status")

    def on_mount(self) -> None:
        log = self.query_one(Log)
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

    def _show_status(self) -> None:
        status = self.query_one("#log-status", Static)
        if self.state is not None:
            status.update(f"{self.title}  ■ {self.state}")
            status.set_class(False, "has-new")
        elif not self.following:
            more = f"{self.new_lines} new lines" if self.new_lines else "no new lines"
            status.update(f"{self.title}  ⏸ paused, {more}; press f or end to follow")
            status.set_class(bool(self.new_lines), "has-new")
        else:
            status.update(f"{self.title}  ● following")
            status.set_class(False, "has-new")
