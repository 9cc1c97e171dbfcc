"""Which runs the Runs view lists: keyset pages, filtered by status, tag, plan or id (no Textual).

A status filter is answered by its index, `tag:NAME` by the plans' tags; other text walks the
runs newest first (the runs_created index, one keyset page at a time), matching plan names and ids
in Python, and stops after `limit` matches or SCAN_LIMIT runs; the caller continues from
`next_before`.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace

from engine.errors import UserError
from engine.ledger.reader import LedgerReader
from engine.ledger.records import RunSummary
from engine.states import RunStatus
from ledger_tui import format as fmt

PAGE = 100  # runs per page of the Runs view
SCAN_PAGE = 250
SCAN_LIMIT = 2000  # runs looked at per call: ~50 ms on a 2-core VM
HISTORY_FOR_ETA = 20
TAG_PREFIX = "tag:"  # the filter `tag:nightly` lists the runs of plans tagged nightly


@dataclass(frozen=True)
class HistoryPage:
    runs: tuple[RunSummary, ...]  # newest first
    next_before: str | None  # pass as before_id for the next older page; None at the end
    next_after: str | None = None  # pass as after_id for the next newer page; None at the head


def matches(run: RunSummary, needle: str) -> bool:
    return needle in run.plan_name.lower() or needle in run.id


def read_history(
    reader: LedgerReader,
    text: str,
    *,
    limit: int,
    before_id: str | None = None,
    at_or_before: float | None = None,
) -> HistoryPage:
    """Runs newest first (older than `before_id`, created at or before `at_or_before`) matching
    `text`: a status, or part of a plan name or run id, or `tag:NAME`; everything when empty."""
    found, cursor = _walk(reader, text, limit, before_id, at_or_before, newer=False)
    if not found and before_id is None and at_or_before is None and cursor is None:
        with contextlib.suppress(UserError):  # an exact or unique id prefix, however old
            detail = reader.get_run(reader.resolve_run_id(text.strip().lower()))
            found = [detail.summary] if detail else []
    return HistoryPage(tuple(found), cursor)


def read_newer(reader: LedgerReader, text: str, *, limit: int, after_id: str | None) -> HistoryPage:
    """The `limit` runs matching `text` just newer than `after_id` (the oldest ones when None),
    newest first; `next_after` continues towards the head."""
    found, cursor = _walk(reader, text, limit, after_id, None, newer=True)
    # Older than this page: nothing when it is the oldest one, else what is held from after_id.
    return HistoryPage(tuple(reversed(found)), after_id, cursor)


def _walk(
    reader: LedgerReader,
    text: str,
    limit: int,
    start: str | None,
    at_or_before: float | None,
    *,
    newer: bool,
) -> tuple[list[RunSummary], str | None]:
    """Up to `limit` matching runs from `start` (exclusive) in one direction, in that order, and
    where to continue (None when there is nothing further that way)."""

    def page(size: int, cursor: str | None, **filters: object) -> list[RunSummary]:
        keyset = {"after_id": cursor, "oldest_first": True} if newer else {"before_id": cursor}
        return reader.list_runs(limit=size, at_or_before=at_or_before, **keyset, **filters)  # type: ignore[arg-type]

    if text.strip().lower().startswith(TAG_PREFIX):
        runs = page(limit, start, tag=text.strip()[len(TAG_PREFIX) :].strip())
        return runs, runs[-1].id if len(runs) == limit else None
    needle = text.strip().lower()
    if not needle or needle in RunStatus.__members__.values():
        runs = page(limit, start, status=RunStatus(needle) if needle else None)
        return runs, runs[-1].id if len(runs) == limit else None
    found: list[RunSummary] = []
    scanned, cursor, more = 0, start, True
    while len(found) < limit and scanned < SCAN_LIMIT:
        batch = page(SCAN_PAGE, cursor)
        found.extend(run for run in batch if matches(run, needle))
        scanned += len(batch)
        if len(batch) < SCAN_PAGE:
            more = False
            break
        cursor = batch[-1].id
    if len(found) > limit:
        found = found[:limit]
        cursor, more = found[-1].id, True
    return found, cursor if more else None


def count_matching(reader: LedgerReader, text: str, *, after_id: str | None = None) -> int | None:
    """How many runs match `text` (newer than `after_id`): a status or tag filter is counted by
    its index; None for a text search, which would have to read every run."""
    needle = text.strip().lower()
    if needle.startswith(TAG_PREFIX):
        return reader.count_runs(tag=text.strip()[len(TAG_PREFIX) :].strip(), after_id=after_id)
    if not needle or needle in RunStatus.__members__.values():
        status = RunStatus(needle) if needle else None
        return reader.count_runs(status=status, after_id=after_id)
    return None


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


def older_runs(reader: LedgerReader, text: str, before_id: str) -> HistoryPage:
    """One older page of the Runs view (a worker thread reads it on scrolling down)."""
    return read_history(reader, text, limit=PAGE, before_id=before_id)


def newer_runs(reader: LedgerReader, text: str, after_id: str | None) -> HistoryPage:
    """One newer page above a window (the oldest page when `after_id` is None)."""
    return read_newer(reader, text, limit=PAGE, after_id=after_id)


def runs_at(reader: LedgerReader, text: str, at: float) -> tuple[HistoryPage, int | None]:
    """The page of runs created at or before `at`, newest first (newer ones load on scrolling
    up from its first run), and how many matching runs are newer than it."""
    with reader.snapshot():
        page = read_history(reader, text, limit=PAGE, at_or_before=at)
        first = page.runs[0].id if page.runs else None
        offset = count_matching(reader, text, after_id=first) if first else None
    return replace(page, next_after=first), offset


def oldest_runs(reader: LedgerReader, text: str) -> tuple[HistoryPage, int | None]:
    """The oldest page of runs, newest first, and how many matching runs are newer than it."""
    with reader.snapshot():
        page = newer_runs(reader, text, None)
        first = page.runs[0].id if page.runs else None
        offset = count_matching(reader, text, after_id=first) if first else None
    return page, offset
