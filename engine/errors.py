"""Errors a user can cause: each carries one clear sentence and the exit code it maps to."""

from __future__ import annotations

from engine.states import ExitCode


class UserError(Exception):
    """A problem with the user's input or environment, reported as one line without a traceback."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, exit_code: ExitCode | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code

    @property
    def message(self) -> str:
        return str(self.args[0])


class PlanError(UserError):
    """The plan file cannot be read or is not valid (exit 2)."""


class LedgerError(UserError):
    """The ledger cannot be used: not a ledger, newer schema, corrupt, disk full (exit 3)."""

    exit_code = ExitCode.LEDGER
