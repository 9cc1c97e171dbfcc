"""A problem found in a plan: where it is (JSON path, file line) and one sentence on what is
wrong."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from engine.errors import PlanError

JsonPath = tuple[str | int, ...]
# A rejection lists at most this many problems: explaining 500,000 of them in a 10 MB plan
# cost 100 times the file's size in memory, and nobody reads past the first screen.
MAX_SHOWN_PROBLEMS = 50


def format_path(path: JsonPath) -> str:
    """`steps[3].depends_on[0]`, the way a person reads a JSON path; `$` for the whole document."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "$"


@dataclass(frozen=True)
class Problem:
    path: JsonPath
    message: str
    line: int | None = None
    column: int | None = None  # within an expression, when the problem is in one
    file_column: int | None = None  # in the file's line, where known (YAML plans)

    def located(self, line: int | None) -> Problem:
        return replace(self, line=line)

    def placed(self, position: tuple[int, int] | None) -> Problem:
        """At a (line, column) of the file."""
        if position is None:
            return self
        return replace(self, line=position[0], file_column=position[1])

    def render(self, source: str | None) -> str:
        where = format_path(self.path)
        if source is not None and self.line and self.file_column:
            where = f"{source}:{self.line}:{self.file_column}: {where}"
        elif source is not None:
            where = f"{source}:{self.line}: {where}" if self.line else f"{source}: {where}"
        if self.column is not None:
            return f"{where}: {self.message} (column {self.column})"
        return f"{where}: {self.message}"

    def as_json(self) -> dict[str, Any]:
        return {
            "path": format_path(self.path),
            "pointer": "".join(f"/{p}" for p in self.path),
            "line": self.line,
            "file_column": self.file_column,
            "column": self.column,
            "message": self.message,
        }


class InvalidPlan(PlanError):
    """The plan has problems; `problems` lists them, located: all, or the first MAX_SHOWN_PROBLEMS.

    `total` counts every problem found, shown or not.
    """

    def __init__(
        self, problems: Sequence[Problem], source: str | None = None, total: int | None = None
    ) -> None:
        self.problems = list(problems)
        self.source = source
        self.total = max(total or 0, len(self.problems))
        super().__init__(f"{source or 'plan'} is not a valid plan ({self.count_text()})")

    def count_text(self) -> str:
        """`3 problems`, or `500000 problems, the first 50 shown`."""
        noun = "problem" if self.total == 1 else "problems"
        hidden = self.total - len(self.problems)
        shown = f", the first {len(self.problems)} shown" if hidden else ""
        return f"{self.total} {noun}{shown}"
