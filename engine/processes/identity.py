"""The identity every attempt carries in its environment, inherited by everything it starts.

`ENGINE_RUN_ID` (a random id, unique to the run), `ENGINE_STEP_ID` and `ENGINE_ATTEMPT` are set
by the scheduler for every attempt and win over the plan's own `env`. A process whose environment
holds the run's id and that was created after the run began was started by that run: that is the
proof of ownership every kill relies on when no parent-child link proves it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

RUN_ID_ENV = "ENGINE_RUN_ID"
STEP_ID_ENV = "ENGINE_STEP_ID"
ATTEMPT_ENV = "ENGINE_ATTEMPT"


class AttemptIdentity(NamedTuple):
    """Which attempt of which run a process belongs to."""

    run_id: str
    step_id: str
    attempt: str

    @classmethod
    def of(cls, environ: Mapping[str, str]) -> AttemptIdentity | None:
        """The identity in an environment, or None when it carries none."""
        run_id = environ.get(RUN_ID_ENV)
        if not run_id:
            return None
        return cls(run_id, environ.get(STEP_ID_ENV, ""), environ.get(ATTEMPT_ENV, ""))


def parse_environ(data: bytes) -> dict[str, str]:
    """A /proc/PID/environ blob as a dict (NUL-separated NAME=value entries)."""
    environ: dict[str, str] = {}
    for entry in data.split(b"\0"):
        name, sep, value = entry.partition(b"=")
        if sep:
            environ[name.decode(errors="replace")] = value.decode(errors="replace")
    return environ
