"""What every live screen shares: a query the poll thread runs, applied in a message handler.

The app's poll thread runs the visible screen's query only, and only when the ledger changed (or
the screen asked for fresh data); the screen gets the result as a `Loaded` message and is the
only one to touch its widgets.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual import events
from textual.app import ComposeResult, SystemCommand
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.theme import Theme
from textual.widgets import Header, Input, Static

from ledger_tui.context import ScreenContext
from ledger_tui.messages import Loaded, Notice, ScreenShown
from ledger_tui.queries import AnyQuery
from ledger_tui.widgets.lean_footer import LeanFooter

StyleState = tuple[object, ...]
TEXT_FIELD_OPENERS = frozenset({"filter", "search_log"})  # the actions `/` is bound to


class LedgerScreen(Screen[None]):
    """A screen that shows live ledger data."""

    def __init__(self, context: ScreenContext, ledger_query: AnyQuery) -> None:
        super().__init__()
        self.context = context
        self.ledger_query = ledger_query  # its state belongs to the poll thread
        self.loaded = False  # first data applied (tests and the bench wait for it)
        self._theme_subscribed = False
        self._notice: str | None = None
        self._styled_for: StyleState | None = None  # the style state when last suspended

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Textual's notify, but plain text: step ids such as `test[os=linux]` are not markup."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """`/` is a priority binding, so it opens its field before the app hands the next keys to
        the focused table (they went there, lost, when typed fast); in a field it is text."""
        return not (action in TEXT_FIELD_OPENERS and isinstance(self.focused, Input))

    def commands(self) -> Iterable[SystemCommand]:
        """This screen's entries in the command palette, after the views (extend per screen)."""
        return ()

    def compose_header(self) -> ComposeResult:
        yield Header(icon="◆")
        yield Static("", classes="notice")

    def compose_footer(self) -> ComposeResult:
        yield LeanFooter()

    # -- the UI side ----------------------------------------------------------------------------

    def refetch(self) -> None:
        """Ask for fresh data at once (after a filter or selection change)."""
        self.ledger_query.refresh()
        self.context.poll_now()

    def _style_state(self) -> StyleState:
        """What a screen's styles depend on beyond its own widgets: the app's CSS (theme,
        variables) and the app's pseudo-classes (`:focus`, `:dark`, `:ansi`, ...)."""
        app = self.app
        flags = tuple(check(app) for check in app._PSEUDO_CLASSES.values())
        return (app._css_update_count, *flags)

    def _on_screen_suspend(self) -> None:
        self._styled_for = self._style_state()

    def _on_screen_resume(self, event: events.ScreenResume) -> None:
        # Textual restyles the whole screen on every resume (a third of a view switch's CPU).
        # A widget restyles itself when its classes change, hidden or not, and a theme change
        # reaches the resumed screen through `_css_update_count`; so when neither the CSS nor
        # the app's pseudo-classes changed while hidden, the styles are already right.
        if self._styled_for == self._style_state():
            event.refresh_styles = False
        if not self._theme_subscribed:
            self._theme_subscribed = True
            self.app.theme_changed_signal.subscribe(self, self._theme_changed)
        self.post_message(ScreenShown(self))

    def _theme_changed(self, _theme: Theme) -> None:
        """Cells carry colours resolved from the theme: rebuild them with the new one."""
        self.theme_changed()
        self.ledger_query.restart()
        self.context.poll_now()

    def theme_changed(self) -> None:
        """Drop anything rendered with the old theme's colours (extend if more is cached)."""
        from ledger_tui.widgets.live_table import LiveTable

        for table in self.query(LiveTable):
            table.invalidate()

    def on_loaded(self, message: Loaded) -> None:
        message.stop()
        self.apply(message.payload)
        self.loaded = True

    def on_notice(self, message: Notice) -> None:
        message.stop()
        self.show_notice(message.text)

    def apply(self, payload: Any) -> None:
        """Show fetched data (UI thread)."""
        raise NotImplementedError

    def show_notice(self, text: str | None) -> None:
        """Show or hide the banner under the header (missing ledger, errors)."""
        notice = self.query_one(".notice", Static)
        if notice.display == bool(text) and self._notice == text:
            return  # every switch re-sends the notice: an update would reflow the screen
        self._notice = text
        notice.update(text or "")
        notice.display = bool(text)
