"""Sub-plan links in `runs`, read for LedgerReader: a run's parent plan step, its children."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from engine.ledger.records import ChildRun, RunLinks
from engine.states import RunStatus

Query = Callable[[str, Sequence[Any]], list[Any]]


def run_links(query: Query, run_id: str) -> RunLinks:
    """The plan step that ran `run_id` as a sub-plan (if one did) and the runs its plan steps
    started, oldest first."""
    parent = query("SELECT parent_run_id, parent_step_id FROM runs WHERE id = ?", (run_id,))
    children = query(
        "SELECT parent_step_id, id, status FROM runs WHERE parent_run_id = ?"
        " ORDER BY created_at, id",
        (run_id,),
    )
    parent_run, parent_step = parent[0] if parent else (None, None)
    return RunLinks(
        parent_run_id=parent_run,
        parent_step_id=parent_step,
        children=tuple(ChildRun(row[0], row[1], RunStatus(row[2])) for row in children),
    )
