"""`engine run --dry-run`: waves, and an expected duration from the plan's history."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import pytest

from engine.ledger.writer import LedgerWriter
from engine.plan.loader import load_plan
from engine.run.dryrun import estimate, waves
from engine.run.slots import concurrency_limit
from engine.states import RunStatus
from tests.cli.cli_helpers import cli, create_run, history_factory, write_plan

DIAMOND = [
    {"id": "a", "command": "true"},
    {"id": "b", "command": "true", "depends_on": ["a"]},
    {"id": "c", "command": "true", "depends_on": ["a"]},
    {"id": "d", "command": "true", "depends_on": ["b", "c"]},
    {"id": "lone", "command": "true"},
]
SECONDS = {"a": 1.0, "b": 4.0, "c": 2.0, "d": 1.0, "lone": 3.0}


async def _history(path: Path, runs: int) -> None:
    async with await LedgerWriter.open(path) as w:
        b = history_factory(w)
        for n in range(runs):
            run_id = f"0dia{n:09d}"
            start = time.time() - 3600 + n * 60
            create_run(b, run_id, "diamond", list(SECONDS), start)
            for step, seconds in SECONDS.items():
                # One slow outlier per step: the median ignores it.
                b.attempt(run_id, step, start, seconds * (10 if n == 0 else 1))
            b.end(run_id, RunStatus.SUCCEEDED, start + 30)


def test_waves_are_topological_levels(tmp_path: Path) -> None:
    loaded = load_plan(write_plan(tmp_path, "diamond", DIAMOND))
    assert waves(loaded.graph) == [["a", "lone"], ["b", "c"], ["d"]]


def test_estimate_follows_the_critical_path_and_the_concurrency_limit(tmp_path: Path) -> None:
    loaded = load_plan(write_plan(tmp_path, "diamond", DIAMOND))
    medians = {step: int(seconds * 1000) for step, seconds in SECONDS.items()}
    wide = estimate(loaded, medians, 3, max_concurrency=4)
    assert wide.critical_path == ["a", "b", "d"] and wide.critical_path_ms == 6000
    assert wide.expected_ms == 6000
    # One slot: everything in sequence.
    assert estimate(loaded, medians, 3, max_concurrency=1).expected_ms == 11_000
    # Two slots: a and lone; b at 1 s; c waits for lone's slot until 3 s; d from 5 s to 6 s.
    assert estimate(loaded, medians, 3, max_concurrency=2).expected_ms == 6000
    slower_c = {**medians, "c": 3000}
    assert estimate(loaded, slower_c, 3, max_concurrency=2).expected_ms == 7000
    assert estimate(loaded, slower_c, 3, max_concurrency=3).expected_ms == 6000


def test_dry_run_without_history_creates_nothing(tmp_path: Path) -> None:
    plan = write_plan(tmp_path, "diamond", DIAMOND)
    ledger = tmp_path / "none" / "framework.db"
    result = cli(ledger, "run", str(plan), "--dry-run")
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        f"plan diamond: 5 steps, max concurrency {os.cpu_count() or 2}",
        "wave 1   a, lone",
        "wave 2   b, c",
        "wave 3   d",
        "expected duration: unknown (no earlier runs of this plan in the ledger)",
    ]
    assert not ledger.parent.exists()


def test_dry_run_with_history(ledger: Path, tmp_path: Path) -> None:
    asyncio.run(_history(ledger, 3))
    plan = write_plan(tmp_path, "diamond", DIAMOND, globals={"max_concurrency": 4})
    result = cli(ledger, "run", str(plan), "--dry-run")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[1] == "wave 1   a (~1.0s), lone (~3.0s)"
    assert lines[-1] == (
        "expected duration ~6.0s (median of the last 3 runs; critical path a -> b -> d ~6.0s)"
    )
    document = json.loads(cli(ledger, "run", str(plan), "--dry-run", "--json").out)
    assert document["expected_ms"] == 6000 and document["history_runs"] == 3
    assert document["waves"][0] == [
        {"step_id": "a", "p50_ms": 1000},
        {"step_id": "lone", "p50_ms": 3000},
    ]
    assert document["steps_without_history"] == [] and document["max_concurrency"] == 4
    assert cli(ledger, "runs", "--json").json()[0]["id"] == "0dia000000002"  # nothing was run


def test_dry_run_assumes_the_concurrency_a_real_run_uses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a limit, a run gets one slot per CPU; the dry run assumed 2 whatever the machine."""
    monkeypatch.setattr(os, "cpu_count", lambda: 7)
    plan = write_plan(tmp_path, "diamond", DIAMOND)
    document = json.loads(
        cli(tmp_path / "framework.db", "run", str(plan), "--dry-run", "--json").out
    )
    assert document["max_concurrency"] == concurrency_limit(load_plan(plan), None) == 7
    limited = cli(
        tmp_path / "framework.db", "run", str(plan), "--dry-run", "--max-concurrency", "3"
    )
    assert limited.out.splitlines()[0] == "plan diamond: 5 steps, max concurrency 3"
