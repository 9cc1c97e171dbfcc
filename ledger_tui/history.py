"""Which runs the Runs view lists: keyset pages, filtered by status, tag, plan or id (no Textual).

A status filter is answered by its index, `tag:NAME` by the plans' tags; other text walks the
runs newest first (the runs_created index, one keyset page at a time), matching plan names and ids
in Python, and stops after `limit` matches or SCAN_LIMIT runs; the caller continues from
`next_before`.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from engine.errors import UserError
from engine.ledger.reader import LedgerReader
from engine.ledger.records import RunSummary
from engine.states import RunStatus
from ledger_tui import format as fmt

SCAN_PAGE = 250
SCAN_LIMIT = 2000  # runs looked at per call: ~50 ms on a 2-core VM
HISTORY_FOR_ETA = 20
TAG_PREFIX = "tag:"  # the filter `tag:nightly` lists the runs of plans tagged nightly


@dataclass(frozen=True)
class HistoryPage:
    runs: tuple[RunSummary, ...]
    next_before: str | None  # pass as before_id for the next page; None at the end


def matches(run: RunSummary, needle: str) -> bool:
    return needle in run.plan_name.lower() or needle in run.id


def read_history(
    reader: LedgerReader, text: str, *, limit: int, before_id: str | None = None
) -> HistoryPage:
    """Runs newest first (older than `before_id`) matching `text`: a status, or part of a plan
    name or run id, or `tag:NAME`; everything when `text` is empty."""
    if text.strip().lower().startswith(TAG_PREFIX):
        tag = text.strip()[len(TAG_PREFIX) :].strip()
        runs = reader.list_runs(tag=tag, limit=limit, before_id=before_id)
        return HistoryPage(tuple(runs), runs[-1].id if len(runs) == limit else None)
    needle = text.strip().lower()
    if not needle or needle in RunStatus.__members__.values():
        status = RunStatus(needle) if needle else None
        runs = reader.list_runs(status=status, limit=limit, before_id=before_id)
        return HistoryPage(tuple(runs), runs[-1].id if len(runs) == limit else None)
    found: list[RunSummary] = []
    scanned, cursor, more = 0, before_id, True
    while len(found) < limit and scanned < SCAN_LIMIT:
        page = reader.list_runs(limit=SCAN_PAGE, before_id=cursor)
        found.extend(run for run in page if matches(run, needle))
        scanned += len(page)
        if len(page) < SCAN_PAGE:
            more = False
            break
        cursor = page[-1].id
    if len(found) > limit:
        found = found[:limit]
        cursor, more = found[-1].id, True
    if not found and before_id is None and not more:
        with contextlib.suppress(UserError):  # an exact or unique id prefix, however old
            detail = reader.get_run(reader.resolve_run_id(needle))
            found = [detail.summary] if detail else []
    return HistoryPage(tuple(found), cursor if more else None)


def read_head(
    reader: LedgerReader, text: str, *, limit: int, down_to: RunSummary | None
) -> HistoryPage:
    """The newest page, extended until it meets `down_to` (the first run of the older pages
    already shown), so runs that arrived meanwhile never leave a gap between the two."""
    page = read_history(reader, text, limit=limit)
    runs = list(page.runs)
    next_before = page.next_before
    while (
        down_to is not None
        and next_before is not None
        and runs
        and (runs[-1].created_at, runs[-1].id) > (down_to.created_at, down_to.id)
    ):
        more = read_history(reader, text, limit=limit, before_id=next_before)
        runs.extend(more.runs)
        next_before = more.next_before
    return HistoryPage(tuple(runs), next_before)


def read_typical(reader: LedgerReader, plans: set[str]) -> dict[str, float | None]:
    """The median duration of each plan's recent successful runs, for ETAs."""
    typical: dict[str, float | None] = {}
    for plan in plans:
        recent = reader.list_runs(status=RunStatus.SUCCEEDED, plan=plan, limit=HISTORY_FOR_ETA)
        typical[plan] = fmt.typical_ms([run.duration_ms for run in recent])
    return typical
