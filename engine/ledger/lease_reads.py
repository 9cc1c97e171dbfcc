"""Reads of the `leases` table for LedgerReader: a run's groups and pools, and who holds a name."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from engine.ledger.records import Lease
from engine.ledger.times import from_iso, from_iso_opt

Query = Callable[[str, Sequence[Any]], list[Any]]

_LEASE_COLUMNS = """
    l.id, l.kind, l.name, l.capacity, l.run_id, l.step_id,
    CASE WHEN l.released_at IS NOT NULL AND l.acquired_at IS NULL THEN 'withdrawn'
         WHEN l.released_at IS NOT NULL THEN 'released'
         WHEN l.acquired_at IS NOT NULL THEN 'held'
         ELSE 'waiting' END,
    l.requested_at, l.acquired_at, l.released_at,
    CASE WHEN l.acquired_at IS NULL AND l.released_at IS NULL THEN
      (SELECT json_group_array(h.run_id) FROM
         (SELECT DISTINCT o.run_id FROM leases o
           WHERE o.kind = l.kind AND o.name = l.name AND o.released_at IS NULL
             AND o.acquired_at IS NOT NULL ORDER BY o.id) h)
    END"""


def _lease(row: Sequence[Any]) -> Lease:
    return Lease(
        id=row[0],
        kind=row[1],
        name=row[2],
        capacity=row[3],
        run_id=row[4],
        step_id=row[5],
        state=row[6],
        requested_at=from_iso(row[7]),
        acquired_at=from_iso_opt(row[8]),
        released_at=from_iso_opt(row[9]),
        waits_for=tuple(json.loads(row[10])) if row[10] else (),
    )


def run_leases(query: Query, run_id: str) -> list[Lease]:
    """The leases a run requested, in the order it asked."""
    rows = query(
        f"SELECT {_LEASE_COLUMNS} FROM leases l WHERE l.run_id = ? ORDER BY l.id", (run_id,)
    )
    return [_lease(row) for row in rows]


def open_leases(query: Query) -> list[Lease]:
    """Every lease held or waited for on the ledger now, by kind, name and arrival."""
    rows = query(
        f"SELECT {_LEASE_COLUMNS} FROM leases l WHERE l.released_at IS NULL"
        " ORDER BY l.kind, l.name, l.id",
        (),
    )
    return [_lease(row) for row in rows]
