"""One recorder per run: `engine run --json` prints exactly the events the ledger gets for the run.

The plans cover every event type a run's engine writes (see test_event_docs.py for the list):
retries, a timeout, a fallback, skips, hooks run and hooks skipped, a step canceled from another
process, a condition that cannot be evaluated, a whole run canceled, and a resume.
"""

from __future__ import annotations

import json
from typing import Any

from engine.states import EventType
from tests.e2e.conftest import ENGINE, Engine, Result

# Written by the next ledger client after the engine died, or on a full disk: never by these runs.
# Waiting for a group or a pool takes a second engine: tests/e2e/test_leases.py compares those;
# an extended timeout, an `engine extend` from outside (tests/e2e/test_extend.py); a step placed on
# a cluster worker, the Dask executor (tests/dask/test_placed.py).
NOT_PRODUCED_HERE = {
    EventType.RUN_CRASHED, EventType.STEP_LOG_TRUNCATED, EventType.RUN_WAITING,
    EventType.STEP_WAITING, EventType.TIMEOUT_EXTENDED, EventType.STEP_PLACED,
}  # fmt: skip


def sh(script: str, **fields: object) -> dict[str, object]:
    return {"command": "sh", "args": ["-c", script], **fields}


def stream_and_ledger(engine: Engine, result: Result) -> tuple[list[Any], list[Any]]:
    """The run's `--json` lines and its `engine events --json` rows, each without `id`.

    A line is printed as the event is recorded, before it commits, so only the ledger knows its
    id (the commit order); every other field must be the same.
    """
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines, result.stderr
    assert all(line["id"] is None for line in lines)
    run_id = lines[0]["run_id"]
    events = engine.run("events", run_id, "--json")
    assert events.returncode == 0, events.stderr
    rows = [json.loads(line) for line in events.stdout.splitlines()]

    def without_id(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in record.items() if k != "id"} for record in records]

    return without_id(lines), without_id(rows)


def assert_same(stream: list[Any], ledger: list[Any]) -> None:
    """The same records in the same order, but for cancel_requested: `engine cancel` commits it
    from another process, so its place among the rows is when it committed, while the engine
    prints it when it picks the request up (within a poll)."""

    def apart(records: list[Any]) -> tuple[list[Any], list[Any]]:
        cancels = [r for r in records if r["type"] == EventType.CANCEL_REQUESTED]
        return [r for r in records if r["type"] != EventType.CANCEL_REQUESTED], cancels

    assert apart(stream) == apart(ledger)


def test_the_json_stream_is_the_ledgers_events_field_for_field(engine: Engine) -> None:
    marker, victim = engine.tmp_path / "flaky-once", engine.tmp_path / "victim-ran"
    cancel = {"ENGINE_BIN": ENGINE, "LEDGER_DB": str(engine.ledger_path)}
    first = engine.run_plan(
        [
            {"id": "ok", "command": "true"},
            {
                "id": "flaky",
                **sh(f"test -f {marker} || {{ touch {marker}; exit 1; }}"),
                "retry": {"max_attempts": 2, "delay_sec": 0.05},
            },
            {
                "id": "slow",
                "command": "sleep",
                "args": ["30"],
                "timeout_sec": 0.3,
                "on_failure": "continue",
            },
            {"id": "primary", "command": "false", "fallback": "standby"},
            {"id": "standby", "command": "true"},
            {"id": "skipped", "command": "true", "condition": "vars.X == 'y'"},
            {"id": "after", "command": "true", "depends_on": ["primary"]},
            {"id": "cached", "command": "true", "cache": True},
            {
                "id": "broken",
                "command": "true",
                "condition": "fromJSON(env.ENGINE_TEST_UNSET).ok",
                "on_failure": "continue",
            },
            {
                "id": "victim",
                # Waits to be canceled the first time; the resumed run finds it done at once.
                **sh(f"test -f {victim} && exit 0; touch {victim}; exec sleep 30"),
                "on_failure": "continue",
            },
            {
                "id": "canceler",
                **sh('"$ENGINE_BIN" cancel "$ENGINE_RUN_ID" --step victim'),
                "depends_on": ["ok"],
                "env": cancel,
            },
        ],
        "--json",
        vars={"X": "n"},
        globals={"max_concurrency": 10},
        on_success=[{"id": "cheer", "command": "true"}],
        on_failure=[{"id": "restore", "command": "true"}],
        on_exit=[{"id": "bye", "command": "true"}],
    )
    assert first.returncode == 1, first.stderr
    resumed = engine.run("resume", engine.last_run().id, "--json")
    assert resumed.returncode == 1, resumed.stderr
    whole = engine.run_plan(
        [
            {"id": "sleeper", "command": "sleep", "args": ["30"]},
            {"id": "canceler", **sh('"$ENGINE_BIN" cancel "$ENGINE_RUN_ID"'), "env": cancel},
        ],
        "--json",
        on_failure=[{"id": "notify", "command": "true"}],
    )
    assert whole.returncode == 1, whole.stderr

    seen: set[str] = set()
    for result in (first, resumed, whole):
        stream, ledger = stream_and_ledger(engine, result)
        assert_same(stream, ledger)
        assert stream[0]["type"] == "run_created"
        assert stream[-1]["type"] in ("run_completed", "run_canceled")
        seen |= {record["type"] for record in stream}
    missing = {str(kind) for kind in EventType} - {str(k) for k in NOT_PRODUCED_HERE} - seen
    assert not missing, f"not covered by these runs: {sorted(missing)}"


def test_hooks_that_do_not_run_are_in_the_stream(engine: Engine) -> None:
    """A plan with a retried step and an on_failure hook that does not run: the hook's
    step_skipped reached the ledger but was never printed."""
    marker = engine.tmp_path / "flaky-once"
    result = engine.run_plan(
        [
            {
                "id": "flaky",
                **sh(f"test -f {marker} || {{ touch {marker}; exit 1; }}"),
                "retry": {"max_attempts": 2, "delay_sec": 0},
            }
        ],
        "--json",
        on_failure=[{"id": "notify", "command": "true"}],
    )
    assert result.returncode == 0, result.stderr
    stream, ledger = stream_and_ledger(engine, result)
    assert stream == ledger
    skipped = [r for r in stream if r["type"] == "step_skipped"]
    assert [(r["step_id"], r["data"]["status"]) for r in skipped] == [("notify", "skipped")]
