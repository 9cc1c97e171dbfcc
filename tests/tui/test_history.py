"""The Runs view's history queries: filters, keyset cursors, and no gap when runs arrive."""

from __future__ import annotations

import asyncio

import pytest

from engine.ledger.reader import LedgerReader
from ledger_tui import history
from ledger_tui.history import read_head, read_history
from tests.tui.test_paging import RUNS, many_runs


@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory) -> LedgerReader:
    path = tmp_path_factory.mktemp("history") / "framework.db"
    asyncio.run(many_runs(path))  # RUNS runs; plan{i % 3}; ids 1m{i:011d}, newest last
    return LedgerReader.open(path)


def ids(page: history.HistoryPage) -> list[int]:
    return [int(run.id[2:]) for run in page.runs]


def test_unfiltered_pages_chain_without_overlap(reader: LedgerReader) -> None:
    first = read_history(reader, "", limit=100)
    second = read_history(reader, "", limit=100, before_id=first.next_before)
    assert ids(first) == list(range(RUNS - 1, RUNS - 101, -1))
    assert ids(second) == list(range(RUNS - 101, RUNS - 201, -1))


def test_status_filter_and_substring_filter(reader: LedgerReader) -> None:
    assert read_history(reader, "failed", limit=10).runs == ()
    assert len(read_history(reader, "Succeeded", limit=10).runs) == 10
    plan1 = read_history(reader, "plan1", limit=1000)
    assert ids(plan1) == [i for i in range(RUNS - 1, -1, -1) if i % 3 == 1]
    assert plan1.next_before is None
    assert ids(read_history(reader, "0000000012", limit=5)) == [129, 128, 127, 126, 125]


def test_substring_scan_is_bounded_and_resumable(
    reader: LedgerReader, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(history, "SCAN_PAGE", 20)
    monkeypatch.setattr(history, "SCAN_LIMIT", 40)
    first = read_history(reader, "plan2", limit=50)
    assert ids(first) == [i for i in range(RUNS - 1, RUNS - 41, -1) if i % 3 == 2]
    assert first.next_before is not None  # stopped after 40 runs, not at the end
    found = ids(first)
    page = first
    while page.next_before is not None:
        page = read_history(reader, "plan2", limit=50, before_id=page.next_before)
        found.extend(ids(page))
    assert found == [i for i in range(RUNS - 1, -1, -1) if i % 3 == 2]


def test_head_reaches_down_to_the_older_pages(reader: LedgerReader) -> None:
    older_first = read_history(reader, "", limit=1, before_id="1m00000000100").runs[0]
    head = read_head(reader, "", limit=50, down_to=older_first)
    assert ids(head)[0] == RUNS - 1
    assert ids(head)[-1] <= 99  # no gap between the head and the older pages
