"""`engine.run_plan` and `engine.arun_plan`: on the main thread, in worker threads, in a loop."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import engine
from engine.ledger.reader import LedgerReader
from tests.api.conftest import plan


def _run_ids(ledger: Path) -> list[str]:
    if not ledger.exists():
        return []
    with LedgerReader.open(ledger) as reader:
        return [run.id for run in reader.list_runs(limit=100)]


def test_a_succeeding_plan_returns_its_result_with_outputs(ledger: Path) -> None:
    document = plan(
        {"id": "make", "command": 'echo "v=1.2" >> "$ENGINE_OUTPUT"', "provides": ["v"]},
        {"id": "use", "command": "test ${steps.make.outputs.v} = 1.2", "depends_on": ["make"]},
    )
    result = engine.run_plan(document, ledger=ledger)
    assert result.status == "succeeded"
    assert result.ok and result.error is None and result.exit_code == 0
    assert result.outputs == {"make": {"v": "1.2"}}
    assert (result.steps_total, result.steps_executed, result.steps_succeeded) == (2, 2, 2)
    assert result.steps["use"].status == "succeeded" and result.steps["use"].exit_code == 0
    assert result.started_at is not None and result.started_at.tzinfo is not None
    record = json.loads(json.dumps(result.to_dict()))
    assert record["run_id"] == result.run_id and record["error"] is None
    assert record["started_at"].endswith("Z")
    assert _run_ids(ledger) == [result.run_id]


def test_a_plan_file_and_a_plan_built_in_code_both_run(ledger: Path, tmp_path: Path) -> None:
    path = tmp_path / "hello.json"
    path.write_text(json.dumps(plan({"id": "hi", "command": "echo ${who}"}, vars={"who": "x"})))
    from_file = engine.run_plan(path, vars={"who": "world"}, ledger=ledger)
    built = engine.Plan(name="built", steps=[engine.Step(id="hi", command="true")])
    from_model = engine.run_plan(built, ledger=ledger)
    assert (from_file.status, from_model.status) == ("succeeded", "succeeded")
    book = engine.Ledger(ledger)
    assert book.run(from_file.run_id).vars == {"who": "world"}
    assert book.run(from_file.run_id).plan_path == str(path)
    assert book.run(from_model.run_id).plan_path is None  # no file: not a path under the cwd


def test_a_failing_step_gives_its_code_severity_and_recoverable(ledger: Path) -> None:
    result = engine.run_plan(
        plan({"id": "build", "command": "exit 3"}, {"id": "ship", "command": "true",
                                                    "depends_on": ["build"]}),
        ledger=ledger,
    )  # fmt: skip
    assert (result.status, result.exit_code) == ("failed", 1)
    error = result.error
    assert error is not None
    assert (error.code, error.step_id, error.severity, error.recoverable) == (
        "exit_nonzero", "build", "error", True,
    )  # fmt: skip
    assert 'step "build" failed' in error.message
    assert result.steps["build"].exit_code == 3
    assert (result.steps_executed, result.steps_failed, result.steps_skipped) == (1, 1, 1)


def test_a_partial_run_is_a_warning_and_a_missing_command_is_not_recoverable(
    ledger: Path,
) -> None:
    partial = engine.run_plan(
        plan({"id": "lint", "command": "exit 1", "on_failure": "continue"},
             {"id": "test", "command": "true"}),
        ledger=ledger,
    )  # fmt: skip
    assert partial.status == "partial"
    assert partial.error is not None and partial.error.severity == "warn"
    missing = engine.run_plan(
        {"name": "m", "steps": [{"id": "x", "command": "no-such-command-for-the-api-test"}]},
        ledger=ledger,
    )
    assert missing.error is not None
    assert (missing.error.code, missing.error.recoverable) == ("spawn_failed", False)


def test_an_invalid_plan_raises_plan_error_with_its_problems_and_leaves_no_run(
    ledger: Path,
) -> None:
    bad = {"name": "bad", "steps": [{"id": "a", "command": "true", "depends_on": ["nope"]},
                                    {"id": "b", "command": 5}]}  # fmt: skip
    with pytest.raises(engine.PlanError) as raised:
        engine.run_plan(bad, ledger=ledger)
    problems = raised.value.problems
    assert len(problems) == 2
    assert {p.path for p in problems} == {("steps", 0, "depends_on", 0), ("steps", 1, "command")}
    assert all(p.message for p in problems)
    assert raised.value.code == "invalid_plan"
    assert _run_ids(ledger) == []


def test_a_plan_file_problem_has_its_line(ledger: Path, tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{\n  "name": "bad",\n  "steps": [\n    {"id": "a", "command": 5}\n  ]\n}\n')
    with pytest.raises(engine.PlanError) as raised:
        engine.run_plan(path, ledger=ledger)
    assert [p.line for p in raised.value.problems] == [4]


def test_a_missing_required_variable_is_context_missing_before_any_run(
    ledger: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("API_TEST_TOKEN", raising=False)
    document = plan({"id": "a", "command": "true"}, requires_env=["API_TEST_TOKEN"])
    with pytest.raises(engine.EngineError) as raised:
        engine.run_plan(document, ledger=ledger)
    assert raised.value.code == "context_missing"
    assert "API_TEST_TOKEN" in str(raised.value)
    assert _run_ids(ledger) == []


def test_a_ledger_that_cannot_be_used_raises_ledger_error(tmp_path: Path) -> None:
    not_a_ledger = tmp_path / "notes.db"
    not_a_ledger.write_text("these are notes, not a database\n" * 100)
    with pytest.raises(engine.LedgerError) as raised:
        engine.run_plan(plan({"id": "a", "command": "true"}), ledger=not_a_ledger)
    assert raised.value.code == "ledger_error"
    assert not_a_ledger.read_text().startswith("these are notes")


def test_four_plans_at_once_from_worker_threads(ledger: Path) -> None:
    before = signal.getsignal(signal.SIGINT)
    document = plan({"id": "a", "command": "sleep 0.2"}, {"id": "b", "command": "true",
                                                          "depends_on": ["a"]})  # fmt: skip
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: engine.run_plan(document, ledger=ledger), range(4)))
    assert [r.status for r in results] == ["succeeded"] * 4
    assert sorted(_run_ids(ledger)) == sorted(r.run_id for r in results)
    assert signal.getsignal(signal.SIGINT) is before


def test_a_run_on_the_main_thread_puts_the_signal_handlers_back(ledger: Path) -> None:
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    engine.run_plan(plan({"id": "a", "command": "true"}), ledger=ledger)
    assert {s: signal.getsignal(s) for s in before} == before


def test_several_runs_in_one_event_loop(ledger: Path) -> None:
    async def main() -> list[engine.RunResult]:
        document = plan({"id": "a", "command": "sleep 0.3"})
        return await asyncio.gather(*(engine.arun_plan(document, ledger=ledger) for _ in range(3)))

    results = asyncio.run(main())
    assert [r.status for r in results] == ["succeeded"] * 3
    spans = sorted((r.started_at, r.finished_at) for r in results)
    assert all(start is not None and end is not None for start, end in spans)
    # They overlapped: each started before the first one finished.
    assert all(start < spans[0][1] for start, _ in spans)  # type: ignore[operator]


def test_run_plan_inside_a_running_loop_says_to_await_arun_plan(ledger: Path) -> None:
    async def main() -> None:
        engine.run_plan(plan({"id": "a", "command": "true"}), ledger=ledger)

    with pytest.raises(RuntimeError, match="arun_plan"):
        asyncio.run(main())
    assert _run_ids(ledger) == []


def test_on_event_receives_exactly_the_ledgers_events_in_order(ledger: Path) -> None:
    seen: list[engine.RunEvent] = []
    result = engine.run_plan(
        plan({"id": "a", "command": "echo a"}, {"id": "b", "command": "exit 1",
             "retry": {"max_attempts": 2, "delay_sec": 0}, "depends_on": ["a"]}),
        ledger=ledger,
        on_event=seen.append,
    )  # fmt: skip
    stored = engine.Ledger(ledger).get_run_events(result.run_id)
    assert [(e.type, e.step_id, e.attempt, e.data or {}) for e in seen] == [
        (e.type, e.step_id, e.attempt, e.data or {}) for e in stored
    ]
    assert seen[0].type == "run_created" and seen[-1].type == "run_completed"


def test_an_on_event_that_raises_is_dropped_and_the_run_goes_on(ledger: Path) -> None:
    calls: list[str] = []

    def broken(event: engine.RunEvent) -> None:
        calls.append(event.type)
        raise ValueError("oops")

    with pytest.warns(RuntimeWarning, match="on_event raised"):
        result = engine.run_plan(plan({"id": "a", "command": "true"}), ledger=ledger,
                                 on_event=broken)  # fmt: skip
    assert result.status == "succeeded"
    assert calls == ["run_created"]


def test_a_yaml_plan_file_runs_through_the_same_loader(ledger: Path, tmp_path: Path) -> None:
    path = tmp_path / "hello.yaml"
    path.write_text("name: yaml-api\nsteps:\n  - id: hi\n    command: 'true'\n")
    assert engine.run_plan(path, ledger=ledger).status == "succeeded"
    path.write_text("name: yaml-api\nsteps:\n  - id: hi\n    command: 5\n")
    with pytest.raises(engine.PlanError) as raised:
        engine.run_plan(path, ledger=ledger)
    assert [p.line for p in raised.value.problems] == [4]


def test_a_plan_file_seen_before_runs_without_importing_pydantic(
    ledger: Path, tmp_path: Path
) -> None:
    path = tmp_path / "cached.json"
    path.write_text(json.dumps(plan({"id": "a", "command": "true"})))
    program = (
        "import sys, engine\n"
        f"assert engine.run_plan({str(path)!r}, ledger={str(ledger)!r}).ok\n"
        "print('pydantic' in sys.modules)\n"
    )
    runs = [
        subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                       timeout=120, check=True).stdout.strip()
        for _ in range(2)
    ]  # fmt: skip
    assert runs == ["True", "False"]  # validated once, then read from the ledger's plan cache


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="child subreapers are Linux's")
def test_a_run_does_not_make_the_callers_process_a_child_subreaper(ledger: Path) -> None:
    # A subreaper adopts every orphan of the caller's own subprocesses too: only `engine run`,
    # a process that is nothing but the run, may be one.
    program = (
        "import ctypes, engine\n"
        f"engine.run_plan({{'name': 'r', 'steps': [{{'id': 'a', 'command': 'true'}}]}},"
        f" ledger={str(ledger)!r})\n"
        "flag = ctypes.c_int(-1)\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "assert libc.prctl(37, ctypes.byref(flag), 0, 0, 0) == 0\n"  # PR_GET_CHILD_SUBREAPER
        "print(flag.value)\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert (done.returncode, done.stdout.strip()) == (0, "0"), done.stderr


def test_a_variable_that_is_not_utf8_raises_before_any_run(ledger: Path) -> None:
    # os.environ and sys.argv hand over bytes that are not UTF-8 as surrogate escapes.
    document = plan({"id": "a", "command": "echo", "args": ["${X}"]}, vars={"X": "x"})
    with pytest.raises(engine.EngineError, match="vars: X: the value is not UTF-8 text"):
        engine.run_plan(document, vars={"X": "a\udcffb"}, ledger=ledger)
    assert _run_ids(ledger) == []


def test_a_plan_built_in_code_with_text_that_is_not_utf8_raises_plan_error(ledger: Path) -> None:
    document = plan({"id": "a", "command": "echo", "args": ["a\udcffb"]})
    with pytest.raises(engine.PlanError, match="the plan holds text that is not UTF-8"):
        engine.run_plan(document, ledger=ledger)
    assert _run_ids(ledger) == []


@pytest.mark.parametrize("where", ["metadata", "args"])
def test_a_plan_built_in_code_nested_too_deeply_raises_plan_error(ledger: Path, where: str) -> None:
    deep: dict[str, Any] = {}
    inner = deep
    for _ in range(50_000):
        inner["k"] = inner = {}
    step: dict[str, Any] = {"id": "a", "command": "true"}
    top: dict[str, Any] = {}
    if where == "args":
        step["args"] = [deep]
    else:
        top["metadata"] = deep
    with pytest.raises(engine.PlanError, match="nested too deeply"):
        engine.run_plan(plan(step, **top), ledger=ledger)
    assert _run_ids(ledger) == []
