"""`engine explain RUN_ID STEP`: the story of one step, told from the ledger's events."""

from __future__ import annotations

import asyncio
from pathlib import Path

from engine.ledger.writer import LedgerWriter
from tests.cli.cli_helpers import (
    FAILED,
    LIVE,
    cli,
    create_run,
    engine,
    history_factory,
    latest_run_id,
    write_plan,
)  # fmt: skip


def test_explain_a_retried_failure(history: Path) -> None:
    result = cli(history, "explain", FAILED, "test")
    assert result.code == 0, result.err
    out = result.out
    assert out.startswith(f"step test of run {FAILED} (release): failed")
    story = [line.split("  ", 2)[-1] for line in out.splitlines() if line.startswith("  ")]
    assert story == [
        "ready: its dependencies are done and its condition allows it; waits for a slot",
        "attempt 1 started (pid None) after waiting 0ms for a concurrency slot",
        "attempt 1 failed: exit code 1 after 1.0s",
        "will retry in 0.5s (attempt 2) because exit code 1",
        "ready: its dependencies are done and its condition allows it; waits for a slot",
        "attempt 2 started (pid None), a retry after exit code 1 and a delay of 500ms",
        "attempt 2 failed: exit code 1 after 1.0s",
        "failed: exit code 1",
    ]


def test_explain_a_skipped_step_and_a_waiting_one(history: Path) -> None:
    skipped = cli(history, "explain", FAILED, "ship").out
    assert "depends on test (failed)" in skipped
    assert 'skipped: dependency "test" failed' in skipped
    waiting = cli(history, "explain", LIVE, "report").out
    assert "nothing happened to it yet (pending)" in waiting


def test_explain_json_shape(history: Path) -> None:
    document = cli(history, "explain", FAILED, "ship", "--json").json()
    assert document["status"] == "skipped" and document["depends_on"] == [
        {"step_id": "test", "status": "failed"}
    ]
    assert set(document["story"][0]) == {"ts", "type", "attempt", "text"}


def test_explain_unknown_step_exits_2(history: Path) -> None:
    result = cli(history, "explain", FAILED, "nope")
    assert result.code == 2 and "has no step 'nope'" in result.err


def test_explain_a_real_run_with_a_condition_and_timeout(ledger: Path, tmp_path: Path) -> None:
    plan = write_plan(
        tmp_path,
        "story",
        [
            {"id": "slow", "command": "sleep", "args": ["5"], "timeout_sec": 0.3,
             "on_failure": "continue"},
            {"id": "never", "command": "true", "depends_on": ["slow"],
             "condition": "steps.slow.status == 'succeeded'"},
        ],
        globals={"kill_grace_sec": 0.2},
    )  # fmt: skip
    assert engine(ledger, "run", str(plan), "-q").code == 1
    run_id = latest_run_id(ledger)
    assert run_id is not None
    slow = cli(ledger, "explain", run_id, "slow").out
    assert "attempt 1 timed out after 0.3s" in slow
    never = cli(ledger, "explain", run_id, "never").out
    assert "condition  steps.slow.status == 'succeeded'" in never
    assert "skipped: condition was false" in never


def test_explain_an_attempt_over_within_its_start_millisecond_tells_it_in_order(
    ledger: Path,
) -> None:
    # The ledger's times are milliseconds: a quick step starts, ends and succeeds in one of them.
    async def quick() -> None:
        async with await LedgerWriter.open(ledger) as writer:
            factory = history_factory(writer)
            create_run(factory, "1quick0000000", "quick", ["a", "b"], 1_700_000_000.0)
            for step in ("a", "b"):
                factory.attempt("1quick0000000", step, 1_700_000_000.0, 0.0)

    asyncio.run(quick())
    for step in ("a", "b"):
        out = cli(ledger, "explain", "1quick0000000", step).out
        story = [line.split("  ", 2)[-1] for line in out.splitlines() if line.startswith("  ")]
        assert [text.split(" (")[0].split(" after")[0] for text in story] == [
            "ready: its dependencies are done and its condition allows it; waits for a slot",
            "attempt 1 started",
            "attempt 1 succeeded",
            "succeeded",
        ], out


def test_explain_a_matrix_dependency_and_an_expansion(ledger: Path, tmp_path: Path) -> None:
    plan = write_plan(
        tmp_path,
        "fan",
        [
            {"id": "t", "matrix": {"n": [1, 2, 3]}, "command": "sh",
             "args": ["-c", "exit $((${matrix.n} == 3))"], "on_failure": "continue",
             "condition": "vars.GO == 'yes'"},
            {"id": "after", "command": "true", "depends_on": ["t"], "condition": "always()"},
        ],
        vars={"GO": "yes"},
    )  # fmt: skip
    assert engine(ledger, "run", str(plan), "-q").code == 1
    run_id = latest_run_id(ledger)
    assert run_id is not None
    after = cli(ledger, "explain", run_id, "after").out
    assert "depends on t (matrix of 3: 2 succeeded, 1 failed)" in after, after
    expansion = cli(ledger, "explain", run_id, "t[n=3]").out
    assert "condition  vars.GO == 'yes'" in expansion, expansion
    document = cli(ledger, "explain", run_id, "after", "--json").json()
    assert document["depends_on"] == [
        {"step_id": "t", "status": "matrix of 3: 2 succeeded, 1 failed"}
    ]
