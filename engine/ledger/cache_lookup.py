"""The step cache's reads: earlier succeeded results under a cache key, and a step's last one."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.ledger.times import from_iso

if TYPE_CHECKING:
    from engine.ledger.writer import LedgerWriter

# Newest first; a few, so one whose outputs were deleted (gc) or that is too old is passed over.
MAX_CANDIDATES = 5

_BY_KEY = f"""
SELECT s.run_id, s.attempts, s.finished_at,
       (SELECT json_group_object(o.name, o.value) FROM outputs o
         WHERE o.run_id = s.run_id AND o.step_id = s.step_id)
FROM run_steps s
WHERE s.cache_key = ? AND s.status = 'succeeded' AND s.finished_at IS NOT NULL
ORDER BY s.finished_at DESC LIMIT {MAX_CANDIDATES}
"""

_LAST_OF_STEP = """
SELECT s.run_id, s.fingerprint_parts, s.finished_at
FROM runs r JOIN run_steps s ON s.run_id = r.id AND s.step_id = ?
WHERE r.plan_name = ? AND s.status = 'succeeded' AND s.cache_key IS NOT NULL
ORDER BY s.finished_at DESC LIMIT 1
"""


@dataclass(frozen=True)
class CachedResult:
    """A succeeded step whose cache key matches: where it ran, when it ended, what it output."""

    run_id: str
    attempt: int
    finished_at: float
    outputs: dict[str, str]


@dataclass(frozen=True)
class LastResult:
    """The newest succeeded, cached result of a plan's step, whatever its key."""

    run_id: str
    parts: dict[str, str]
    finished_at: float


async def cached_results(writer: LedgerWriter, key: str) -> list[CachedResult]:
    """The newest succeeded results recorded under `key`, with their outputs."""
    rows: list[Any] = await writer.read(_BY_KEY, (key,))
    return [
        CachedResult(run_id, attempts, from_iso(finished), json.loads(outputs or "{}"))
        for run_id, attempts, finished, outputs in rows
    ]


async def last_result(writer: LedgerWriter, plan_name: str, step_id: str) -> LastResult | None:
    """The step's newest succeeded cached result, to say what differs from it."""
    rows: list[Any] = await writer.read(_LAST_OF_STEP, (step_id, plan_name))
    if not rows:
        return None
    run_id, parts, finished = rows[0]
    return LastResult(run_id, json.loads(parts or "{}"), from_iso(finished))
