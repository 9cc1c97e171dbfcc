"""Errors a user can cause: each carries one clear sentence, the exit code it maps to and a code.

The Python API raises these same classes (`engine.EngineError`, `engine.PlanError`, ...); `code`
is one of the documented error codes (docs/python.md), stable across releases.
"""

from __future__ import annotations

from typing import Any

from engine.states import ExitCode


class UserError(Exception):
    """A problem with the user's input or environment, reported as one line without a traceback."""

    exit_code: ExitCode = ExitCode.USAGE
    code: str = "usage"

    def __init__(
        self, message: str, exit_code: ExitCode | None = None, *, code: str | None = None
    ) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0])


class PlanError(UserError):
    """The plan file cannot be read or is not valid (exit 2); `problems` lists what is wrong.

    Empty when the file could not be read at all: the message says why.
    """

    code = "invalid_plan"
    problems: list[Any] = []  # noqa: RUF012 - engine.plan.problems.Problem, set by InvalidPlan


class LedgerError(UserError):
    """The ledger cannot be used: not a ledger, newer schema, corrupt, disk full (exit 3)."""

    exit_code = ExitCode.LEDGER
    code = "ledger_error"


class UnknownRun(UserError):
    """No run has this id, or a prefix names none or several (exit 2)."""

    code = "unknown_run"
