"""The colour of each status, once, for every display: `engine` tables and live view, the dashboard.

A status maps to a role named like the Textual theme variable the dashboard uses ($success,
$error...); a terminal, which has no theme, maps each role to one colour (`TERMINAL_STYLE`).
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    SUCCESS = "success"
    ERROR = "error"
    WARNING = "warning"
    ACCENT = "accent"
    PRIMARY = "primary"
    MUTED = "foreground-muted"


# Keyed by the status word, so run, step and attempt statuses share one entry per word.
STATUS_ROLE: dict[str, Role] = {
    "succeeded": Role.SUCCESS,
    "failed": Role.ERROR,
    "crashed": Role.ERROR,
    "abandoned": Role.ERROR,
    "partial": Role.WARNING,
    "canceled": Role.WARNING,
    "retrying": Role.WARNING,
    "running": Role.ACCENT,
    "ready": Role.PRIMARY,
    "waiting": Role.PRIMARY,  # DERIVED_STATES
    "pending": Role.MUTED,
    "skipped": Role.MUTED,
    "reused": Role.MUTED,
}

# Shown like statuses but derived by the read API, never stored: a run queued for its group.
DERIVED_STATES = ("waiting",)

# rich styles for a terminal (NO_COLOR is honoured by rich).
TERMINAL_STYLE: dict[Role, str] = {
    Role.SUCCESS: "green",
    Role.ERROR: "red",
    Role.WARNING: "yellow",
    Role.ACCENT: "cyan",
    Role.PRIMARY: "cyan",
    Role.MUTED: "dim",
}


def terminal_style(status: str) -> str:
    """The rich style of a status on a terminal; plain for a word that is no status."""
    role = STATUS_ROLE.get(status)
    return "" if role is None else TERMINAL_STYLE[role]
