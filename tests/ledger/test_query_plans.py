"""Every read query is served by an index: no full scan of events, step_attempts or runs."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from engine.ledger.reader import LedgerReader
from engine.states import EventType, RunStatus
from tests.ledger_factory import T0

# Scans of CTEs and subqueries (rows already narrowed through an index) are fine.
_INTERMEDIATE = re.compile(r"SCAN (finished|ranked|f|\(subquery-\d+\))")
# Walks that follow ORDER BY ... LIMIT stop after `limit` rows: bounded, not full scans.
_BOUNDED_WALKS = {
    "SCAN events": "ORDER BY id DESC LIMIT",
    "SCAN r USING INDEX runs_created": "ORDER BY r.created_at DESC, r.id DESC LIMIT",
}


CALLS: dict[str, Callable[[LedgerReader], object]] = {
    "list_runs": lambda r: r.list_runs(),
    "list_runs_status": lambda r: r.list_runs(status=RunStatus.FAILED),
    "list_runs_plan": lambda r: r.list_runs(plan="release"),
    "list_runs_since": lambda r: r.list_runs(since=T0),
    "list_runs_page": lambda r: r.list_runs(before_id="r2bbbbbbbbbbb", status=RunStatus.FAILED),
    "active_runs": lambda r: r.active_runs(),
    "get_run": lambda r: r.get_run("r1aaaaaaaaaaa"),
    "run_steps": lambda r: r.run_steps("r1aaaaaaaaaaa"),
    "attempts": lambda r: r.attempts("r1aaaaaaaaaaa"),
    "attempts_step": lambda r: r.attempts("r1aaaaaaaaaaa", "test"),
    "events_run": lambda r: r.events(run_id="r1aaaaaaaaaaa"),
    "events_run_step_types": lambda r: r.events(
        run_id="r1aaaaaaaaaaa", step_id="test", types=[EventType.STEP_STARTED]
    ),
    "events_after": lambda r: r.events(run_id="r1aaaaaaaaaaa", after_id=3),
    "events_latest": lambda r: r.events(),
    "events_before": lambda r: r.events(before_id=10),
    "outputs": lambda r: r.outputs("r1aaaaaaaaaaa"),
    "resolve": lambda r: r.resolve_run_id("r1"),
    "stats": lambda r: r.stats(T0),
}


def _plan(reader: LedgerReader, sql: str, params: Sequence[Any]) -> list[str]:
    return [row[3] for row in reader._query("EXPLAIN QUERY PLAN " + sql, params)]


@pytest.mark.parametrize("name", sorted(CALLS))
def test_query_uses_indexes(reader: LedgerReader, name: str) -> None:
    captured: list[tuple[str, Sequence[Any]]] = []
    original = reader._query

    def recording(sql: str, params: Sequence[Any] = ()) -> list[Any]:
        captured.append((sql, params))
        return original(sql, params)

    reader._query = recording  # type: ignore[method-assign]
    CALLS[name](reader)
    reader._query = original  # type: ignore[method-assign]
    assert captured
    for sql, params in captured:
        if sql.startswith("PRAGMA"):
            continue
        for detail in _plan(reader, sql, params):
            if not detail.startswith("SCAN ") or _INTERMEDIATE.fullmatch(detail):
                continue
            bounded_by = _BOUNDED_WALKS.get(detail)
            assert bounded_by is not None and bounded_by in sql, f"{name}: {detail}\n{sql}"
