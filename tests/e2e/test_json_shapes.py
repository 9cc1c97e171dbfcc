"""Every command's `--json` has the one record shape of schema/records.schema.json."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from tests.e2e.conftest import Engine
from tests.support import wait_for

SCHEMA = json.loads(
    (Path(__file__).parents[2] / "schema" / "records.schema.json").read_text("utf-8")
)
LEDGER_TUI = str(Path(sys.executable).with_name("ledger-tui"))
# A success with an output, a step that fails after a retry, a skipped dependent, and a hook.
STEPS = [
    {"id": "make", "command": "sh", "args": ["-c", "echo made; echo N=1 >> $ENGINE_OUTPUT"],
     "provides": ["N"]},
    {"id": "flaky", "command": "sh", "args": ["-c", "echo one; echo two >&2; exit 3"],
     "depends_on": ["make"], "retry": {"max_attempts": 2, "delay_sec": 0},
     "on_failure": "skip_dependents"},
    {"id": "after", "command": "true", "depends_on": ["flaky"]},
]  # fmt: skip
HOOKS = {"on_exit": [{"id": "tidy", "command": "true"}]}


def check(value: Any, shape: str) -> None:
    """Fail with every way `value` differs from the `shape` record of the schema."""
    registry: Registry[Any] = Registry().with_resource(
        SCHEMA["$id"], Resource.from_contents(SCHEMA)
    )
    validator = Draft202012Validator({"$ref": f"{SCHEMA['$id']}#/$defs/{shape}"}, registry=registry)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(value)]
    assert not errors, f"{shape}: " + "\n".join(errors)


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, str, list[dict[str, Any]]]:
    """One real run with `--json`, in a ledger that the tests below query."""
    engine = Engine(tmp_path_factory.mktemp("shapes"))
    result = engine.run_plan(STEPS, "--json", **HOOKS)
    assert result.returncode == 1, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    return engine, engine.last_run().id, lines


def query(engine: Engine, *args: str) -> Any:
    result = engine.run(*args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_run_json_lines_are_events_in_the_documented_order(
    ran: tuple[Engine, str, list[dict[str, Any]]],
) -> None:
    _, run_id, lines = ran
    for line in lines:
        check(line, "event")
    assert {line["run_id"] for line in lines} == {run_id}
    assert all(line["id"] is None for line in lines)
    types = [line["type"] for line in lines]
    assert types[:2] == ["run_created", "run_started"] and types[-1] == "run_completed"
    assert all(t.startswith("step_") or t == "hooks_started" for t in types[2:-1])
    assert lines[1]["data"] == {"plan_name": "plan1", "steps_total": 3}
    outcome = lines[-1]["data"]
    assert outcome["status"] == "partial" and outcome["exit_code"] == 1
    assert isinstance(outcome["duration_ms"], int)


def test_run_json_step_events_are_the_ledgers_events(
    ran: tuple[Engine, str, list[dict[str, Any]]],
) -> None:
    """The same type, step, attempt and data as `engine events --json`, in the same order."""
    engine, run_id, lines = ran
    stored = [
        json.loads(line) for line in engine.run("events", run_id, "--json").stdout.splitlines()
    ]

    def steps_only(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [(e["type"], e["step_id"], e["attempt"], e["data"]) for e in events if e["step_id"]]

    assert steps_only(lines) == steps_only(stored)


def test_query_commands_print_the_one_shape(
    ran: tuple[Engine, str, list[dict[str, Any]]],
) -> None:
    engine, run_id, _ = ran
    runs = query(engine, "runs")
    check(runs, "runs")
    assert runs[0]["id"] == run_id and runs[0]["elapsed_ms"] == runs[0]["duration_ms"]
    shown = query(engine, "show", run_id)
    check(shown, "show")
    assert [a["attempt"] for a in shown["attempts"] if a["step_id"] == "flaky"] == [1, 2]
    assert {s["step_id"]: s["is_hook"] for s in shown["steps"]}["tidy"] is True
    events = engine.run("events", run_id, "--json").stdout.splitlines()
    assert events
    for line in events:
        check(json.loads(line), "event")
    check(query(engine, "stats"), "stats")
    check(query(engine, "logs", run_id, "flaky", "--attempt", "1"), "logs")
    check(query(engine, "explain", run_id, "flaky"), "explain")
    check(query(engine, "gc", "--older-than", "0s", "--dry-run"), "gc_dry_run")
    check(query(engine, "gc", "--older-than", "30d"), "gc")
    dry_run = query(engine, "run", engine.plan(STEPS, name="plan1", **HOOKS), "--dry-run")
    check(dry_run, "dry_run")
    assert dry_run["history_runs"] == 1 and isinstance(dry_run["expected_ms"], int)


def test_the_dashboards_status_prints_the_run_shape(
    ran: tuple[Engine, str, list[dict[str, Any]]],
) -> None:
    engine, run_id, _ = ran
    result = subprocess.run(
        [LEDGER_TUI, "status", "--json"], env=engine.env(), capture_output=True, text=True,
        cwd=engine.tmp_path, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    check(status, "status")
    assert [run["id"] for run in status["recent"]] == [run_id]
    assert status["recent"][0] == query(engine, "runs")[0]


def test_a_live_run_has_an_elapsed_time_but_no_duration(engine: Engine, marker: str) -> None:
    steps = [{"id": "long", "command": "sleep", "args": [marker]}]
    proc = engine.start("run", engine.plan(steps, globals={"kill_grace_sec": 1}))
    try:
        wait_for(lambda: engine.runs() and engine.runs()[0].running_step_ids, timeout=30)
        (run,) = query(engine, "runs")
        check(run, "run")
        assert run["status"] == "running" and run["duration_ms"] is None, run
        assert run["finished_at"] is None and run["running_step_ids"] == ["long"], run
        result = engine.run("cancel", run["id"], "--wait", "60", "--json", timeout=90)
        assert result.returncode == 0, result
        check(json.loads(result.stdout), "cancel")
    finally:
        proc.kill()
        proc.communicate()
