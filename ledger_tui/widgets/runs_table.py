"""The Runs list: `end`/`G` and `home`/`g` reach the oldest and newest run even when not loaded."""

from __future__ import annotations

from textual.message import Message

from ledger_tui.widgets.live_table import LiveTable


class RunsTable(LiveTable):
    """A LiveTable that asks its screen for the far ends of history it does not hold."""

    class Edge(Message):
        """`end`/`G` (oldest) or `home`/`g` (newest) pressed while that end is not loaded."""

        def __init__(self, oldest: bool) -> None:
            super().__init__()
            self.oldest = oldest

    more_below = False  # older runs exist than the rows held
    more_above = False  # newer runs exist than the rows held (after a jump)

    def action_scroll_bottom(self) -> None:
        if self.more_below:
            self.post_message(self.Edge(oldest=True))
        else:
            super().action_scroll_bottom()

    def action_scroll_top(self) -> None:
        if self.more_above:
            self.post_message(self.Edge(oldest=False))
        else:
            super().action_scroll_top()
