"""Which mechanism keeps an attempt's processes with it on this system, and what it cannot do."""

from __future__ import annotations

from typing import NamedTuple


class Mechanism(NamedTuple):
    name: str
    description: str


def keeping_mechanism() -> Mechanism:
    """The mechanism in force for an `engine run` started now."""
    return Mechanism(
        "process-group",
        "each step leads its own session and process group; a process that calls setsid escapes",
    )
