"""Which history rows the Runs view holds: the head and the older pages below it, or, after a
jump (`end`, a date), a window anywhere in history that grows both ways as you scroll (no Textual).

Both directions page by keyset (`created_at, id`), never OFFSET, so the oldest of 10,000 runs is
one indexed query away. A window that grows up to the newest run joins the head again.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from engine.ledger.records import RunSummary
from ledger_tui.history import HistoryPage

AGO = re.compile(r"^(\d+)\s*([mhdw])$")
UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def jump_time(text: str, now: float) -> float | None:
    """The time a jump goes to: `3d` (3 days ago; also m, h, w), a date `2026-12-01` (the end of
    that day, so its runs are on top), or a time `2026-12-01 14:00`; UTC; None if not one."""
    text = text.strip().lower()
    ago = AGO.match(text)
    if ago:
        return now - int(ago.group(1)) * UNIT_SECONDS[ago.group(2)]
    try:
        when = datetime.fromisoformat(text.upper())
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    whole_day = len(text) == len("2026-12-01")
    return when.timestamp() + (86400 - 0.001 if whole_day else 0)


class HistoryWindow:
    """The Runs view's history rows beside the head page the poll thread refreshes."""

    def __init__(self) -> None:
        self.older: list[RunSummary] = []  # below the head page (head mode) or the window
        self.older_cursor: str | None = None  # where the next older page starts; None: the end
        self.paged = False  # older pages were loaded: their cursor, not the head's, counts
        self.window: list[RunSummary] | None = None  # a window away from the head, newest first
        self.newer_cursor: str | None = None  # where the next newer page starts (window only)
        self.offset: int | None = 0  # matching runs above the first row held; None: unknown

    @property
    def detached(self) -> bool:
        return self.window is not None

    def rows(
        self, active: tuple[RunSummary, ...], head: tuple[RunSummary, ...]
    ) -> list[RunSummary]:
        """The runs to show, newest first, each once: active and the head page on top of the
        older pages, or the window alone (the active runs are in it at their place in time)."""
        parts = (self.window, self.older) if self.window is not None else (active, head, self.older)
        seen: set[str] = set()
        runs: list[RunSummary] = []
        for part in parts:
            for run in part:
                if run.id not in seen:
                    seen.add(run.id)
                    runs.append(run)
        return runs

    def head_loaded(self, head: HistoryPage) -> None:
        if not self.paged and self.window is None:
            self.older_cursor = head.next_before

    def older_loaded(self, page: HistoryPage) -> RunSummary | None:
        """Keep an older page; returns the first older run the head must reach down to."""
        self.paged = True
        self.older = [*self.older, *page.runs]
        self.older_cursor = page.next_before
        if self.window is not None:
            return None
        return self.older[0] if self.older else None

    def jumped(self, page: HistoryPage, offset: int | None) -> None:
        """Hold `page` (the oldest runs, or those at a date) and nothing else."""
        self.window = list(page.runs)
        self.older = []
        self.paged = True
        self.older_cursor = page.next_before
        self.newer_cursor = page.next_after if page.runs else None
        self.offset = offset
        if self.newer_cursor is None:  # nothing newer: this is the head's history after all
            self.older, self.window, self.offset = self.window, None, 0

    def newer_loaded(self, page: HistoryPage) -> RunSummary | None:
        """Put a newer page on top of the window. When it reached the newest run, the window
        becomes the older pages of the head again: returns the run the head must reach down to."""
        if self.window is None:
            return None
        self.window = [*page.runs, *self.window]
        if self.offset is not None:
            self.offset = max(0, self.offset - len(page.runs))
        self.newer_cursor = page.next_after
        if self.newer_cursor is not None:
            return None
        self.older, self.window, self.offset = self.window, None, 0
        return self.older[0] if self.older else None
