"""Search within the shown log: matches of a term, the current one, and their highlight."""

from __future__ import annotations

from collections.abc import Sequence

from rich.highlighter import Highlighter
from rich.style import Style
from rich.text import Text


class MatchHighlighter(Highlighter):
    """Marks every case-insensitive occurrence of `term` in a log line."""

    def __init__(self, style: Style) -> None:
        self.term = ""
        self.style = style

    def highlight(self, text: Text) -> None:
        if not self.term:
            return
        plain, term, start = text.plain.casefold(), self.term.casefold(), 0
        while (found := plain.find(term, start)) >= 0:
            text.stylize(self.style, found, found + len(term))
            start = found + len(term)


class LogSearch:
    """The lines of a log that hold a term, and which of them is current."""

    def __init__(self) -> None:
        self.term = ""
        self.lines: list[int] = []
        self.index = -1  # into `lines`; -1: none yet

    def find(self, lines: Sequence[str], term: str, from_line: int) -> int | None:
        """Look for `term`; the first match at or after `from_line` becomes current."""
        self.term = term
        folded = term.casefold()
        self.lines = [n for n, line in enumerate(lines) if folded and folded in line.casefold()]
        self.index = -1
        if not self.lines:
            return None
        after = [i for i, n in enumerate(self.lines) if n >= from_line]
        self.index = after[0] if after else 0
        return self.lines[self.index]

    def step(self, lines: Sequence[str], forward: bool) -> int | None:
        """The next (or previous) match's line, wrapping around; lines that arrived are searched."""
        if not self.term:
            return None
        current = self.lines[self.index] if 0 <= self.index < len(self.lines) else -1
        self.find(lines, self.term, 0)
        if not self.lines:
            return None
        if forward:
            later = [i for i, n in enumerate(self.lines) if n > current]
            self.index = later[0] if later else 0
        else:
            earlier = [i for i, n in enumerate(self.lines) if n < current]
            self.index = earlier[-1] if earlier else len(self.lines) - 1
        return self.lines[self.index]

    def describe(self) -> str:
        if not self.term:
            return ""
        if not self.lines:
            return f"/{self.term}: no match"
        return f"/{self.term}: match {self.index + 1} of {len(self.lines)} (n next, N previous)"
