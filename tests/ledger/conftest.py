"""Fixtures: real ledger files in tmp_path, populated through the real writer."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.ledger import leases
from engine.ledger.reader import LedgerReader
from engine.ledger.writer import LedgerWriter
from engine.states import RunStatus
from tests.ledger_factory import T0, LedgerFactory

RELEASE_STEPS = ["snapshot", "test", "merge"]


async def populate(path: Path) -> None:
    """Write four release runs and one nightly run covering every status the reader reports."""
    async with await LedgerWriter.open(path) as w:
        b = LedgerFactory(w, measured=True)
        # r1: succeeded, 3 steps of 1, 2 and 3 s.
        b.create("r1aaaaaaaaaaa", "release", RELEASE_STEPS, T0, hooks=["notify"])
        # It holds the concurrency group "release" until it ends (run_finished releases it).
        await b.writer.transact(
            functools.partial(
                leases.request, kind=leases.GROUP, name="release", capacity=1,
                run_id="r1aaaaaaaaaaa", step_id=None, at=T0,
            )
        )  # fmt: skip
        t = T0
        for i, step in enumerate(RELEASE_STEPS, start=1):
            t = b.attempt("r1aaaaaaaaaaa", step, t, float(i))
        w.record_outputs(
            run_id="r1aaaaaaaaaaa", step_id="snapshot", attempt=1, outputs={"sha": "abc123"}
        )
        b.end("r1aaaaaaaaaaa", RunStatus.SUCCEEDED, t)

        # r2: test fails once (retried), then fails for good: the run fails.
        b.create("r2bbbbbbbbbbb", "release", RELEASE_STEPS, T0 + 100, hooks=["notify"])
        t = b.attempt("r2bbbbbbbbbbb", "snapshot", T0 + 100, 2.0)
        retry = {"delay_ms": 1000, "next_attempt": 2}
        t = b.attempt("r2bbbbbbbbbbb", "test", t, 1, ok=False, final=False, retry_data=retry)
        b.start("r2bbbbbbbbbbb", "test", t, attempt=2, ready=False)
        t += 1
        b.finish("r2bbbbbbbbbbb", "test", t, attempt=2, ok=False)
        b.skip("r2bbbbbbbbbbb", "merge", t, "dependency test failed")
        b.end("r2bbbbbbbbbbb", RunStatus.FAILED, t, error="step test failed")

        # r3: canceled during test.
        b.create("r3ccccccccccc", "release", RELEASE_STEPS, T0 + 200, hooks=["notify"])
        t = b.attempt("r3ccccccccccc", "snapshot", T0 + 200, 4.0)
        b.end("r3ccccccccccc", RunStatus.CANCELED, t, exit_code=130)

        # n1: a nightly run still running, with two steps in flight.
        # Tagged, with metadata: docs/ledger.md's example query finds it.
        nightly = ["vacuum", "backup", "report"]
        document = {
            "name": "nightly",
            "tags": ["nightly", "db"],
            "metadata": {"owner": "platform-team"},
            "steps": [{"id": s} for s in nightly],
        }
        b.create("n1ddddddddddd", "nightly", nightly, T0 + 300, hooks=["notify"], document=document)
        for step in ("vacuum", "backup"):
            b.start("n1ddddddddddd", step, T0 + 301, pid=3000, ready=False)

        # r4: a second succeeded release, resumed from r2, reusing snapshot.
        b.create("r4eeeeeeeeeee", "release", RELEASE_STEPS, T0 + 400, resumed_from="r2bbbbbbbbbbb")
        b.reuse("r4eeeeeeeeeee", "snapshot", T0 + 400, "r2bbbbbbbbbbb")
        t = b.attempt("r4eeeeeeeeeee", "test", T0 + 400, 5.0)
        t = b.attempt("r4eeeeeeeeeee", "merge", t, 6.0)
        b.end("r4eeeeeeeeeee", RunStatus.SUCCEEDED, t)


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    return tmp_path / ".ledger" / "framework.db"


@pytest.fixture
def populated(ledger_path: Path) -> Path:
    ledger_path.parent.mkdir(parents=True, exist_ok=True)
    asyncio.run(populate(ledger_path))
    return ledger_path


@pytest.fixture
def reader(populated: Path) -> Iterator[LedgerReader]:
    with LedgerReader.open(populated) as opened:
        yield opened
