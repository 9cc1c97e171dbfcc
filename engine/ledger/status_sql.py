"""Status lists for SQL, built from `engine.states`: a status added there is never missed here."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from engine.states import RunStatus, StepStatus


def sql_list(values: Iterable[StrEnum]) -> str:
    """`('pending', 'running')`: a SQL list literal (statuses are fixed words, never user text)."""
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"


ACTIVE_RUN = sql_list(status for status in RunStatus if not status.is_final)
UNFINISHED_STEP = sql_list(status for status in StepStatus if not status.is_final)
# A step that started and has not ended: an attempt of it is running or waits out its backoff.
STARTED_STEP = sql_list((StepStatus.RUNNING, StepStatus.RETRYING))
SETTLED_STEP = sql_list((StepStatus.SUCCEEDED, StepStatus.FAILED))  # what step statistics count
