"""What `engine run` prints: JSON lines, or plain lines without escapes when not on a terminal."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

from rich.console import Console

from engine.live import LiveReporter, eta_text
from engine.progress import JsonReporter, PlainReporter, Reporter, make_reporter
from engine.run.recorder import RecordedEvent
from engine.states import EventType, RunStatus


def _event(
    type: EventType, step_id: str | None, attempt: int | None, data: dict[str, Any]
) -> RecordedEvent:
    return RecordedEvent("run1", type, 1_700_000_000.0, step_id, attempt, data)


def drive(reporter: JsonReporter | PlainReporter) -> None:
    reporter.start("run1", "plan", 2)
    data = {"plan_name": "plan", "steps_total": 2}
    reporter.emit(_event(EventType.RUN_STARTED, None, None, data))
    reporter.emit(_event(EventType.STEP_READY, "a", None, {}))
    reporter.emit(_event(EventType.STEP_STARTED, "a", 1, {"pid": 5}))
    reporter.emit(_event(EventType.STEP_RETRY, "a", 1, {"reason": "exit code 3", "delay_sec": 0.5}))
    reporter.emit(_event(EventType.STEP_FAILED, "a", 2, {"reason": "exit code 3", "attempts": 2}))
    outcome = {"status": "failed", "exit_code": 1, "error": 'step "a" failed', "duration_ms": 1500}
    reporter.emit(_event(EventType.RUN_COMPLETED, None, None, outcome))
    reporter.finish(RunStatus.FAILED, 'step "a" failed', 1.5, 1)


def test_json_lines() -> None:
    stream = io.StringIO()
    drive(JsonReporter(stream))
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [r["type"] for r in records] == [
        "run_started", "step_ready", "step_started", "step_retry", "step_failed", "run_completed",
    ]  # fmt: skip
    assert all(r["run_id"] == "run1" for r in records)
    assert records[-1]["data"] == {
        "status": "failed", "exit_code": 1, "error": 'step "a" failed', "duration_ms": 1500,
    }  # fmt: skip


def test_plain_lines() -> None:
    stream = io.StringIO()
    drive(PlainReporter(stream))
    lines = [line.split("] ", 1)[1] for line in stream.getvalue().splitlines()]
    assert lines == [
        "run run1 started: plan (2 steps)",
        "a: started",
        "a: retry (attempt 1): exit code 3, next in 0.5s",
        "a: failed (attempt 2): exit code 3",
        'run run1 failed in 1.50s: step "a" failed',
    ]
    assert "\x1b" not in stream.getvalue()


def test_plain_never_repeats_the_events_own_word() -> None:
    stream = io.StringIO()
    reporter = PlainReporter(stream)
    reporter.start("run1", "plan", 2)
    reporter.emit(_event(EventType.STEP_CANCELED, "a", 1, {"reason": "canceled by SIGINT"}))
    reporter.emit(_event(EventType.STEP_CANCELED, "b", 1, {"reason": "run timed out after 5s"}))
    lines = [line.split("] ", 1)[1] for line in stream.getvalue().splitlines()]
    assert lines[1:] == ["a: canceled by SIGINT", "b: canceled: run timed out after 5s"]


def test_a_cluster_step_is_started_once_placed_or_at_its_end() -> None:
    # Submitted to a cluster (no pid yet), a step's process starts when a worker takes it.
    stream = io.StringIO()
    reporter = PlainReporter(stream)
    reporter.start("run1", "plan", 3)
    reporter.emit(_event(EventType.STEP_STARTED, "a", 1, {"pid": None}))
    reporter.emit(_event(EventType.STEP_STARTED, "b", 1, {"pid": None}))
    reporter.emit(_event(EventType.STEP_STARTED, "c", 1, {"pid": None}))
    placed = {"host": "gpu1", "worker": "tcp://10.0.0.5:4000", "pid": 7}
    reporter.emit(_event(EventType.STEP_PLACED, "a", 1, placed))
    reporter.emit(_event(EventType.STEP_SUCCEEDED, "a", None, {"attempts": 1}))
    reporter.emit(_event(EventType.STEP_CANCELED, "b", None, {"reason": "canceled"}))
    reporter.finish(RunStatus.CANCELED, None, 1.0)
    lines = [line.split("] ", 1)[1] for line in stream.getvalue().splitlines()]
    assert lines[1:] == [
        "a: placed on gpu1, worker tcp://10.0.0.5:4000",
        "a: started",
        "a: succeeded",
        "b: started",  # never placed: dropped from the cluster's queue
        "b: canceled",
        "c: started",
        "run run1 canceled in 1.00s",
    ]


def test_quiet_prints_only_the_outcome() -> None:
    stream = io.StringIO()
    drive(PlainReporter(stream, quiet=True))
    assert len(stream.getvalue().splitlines()) == 1


def test_a_pipe_gets_plain_lines() -> None:
    assert isinstance(
        make_reporter(as_json=False, quiet=False, stream=io.StringIO()), PlainReporter
    )
    assert isinstance(make_reporter(as_json=True, quiet=False, stream=io.StringIO()), JsonReporter)


def _failing_log(tmp_path: Path, lines: int = 15) -> str:
    log = tmp_path / "b.1.log"
    log.write_text("".join(f"line {n} [red]\n" for n in range(1, lines + 1)))
    return str(log)


def _fail(reporter: Reporter, log_path: str) -> None:
    reporter.start("run1", "plan", 2)
    reporter.emit(_event(EventType.STEP_STARTED, "b", 1, {"pid": 5, "log_path": log_path}))
    data = {"attempts": 1, "exit_code": 2, "status": "failed", "reason": "exit code 2"}
    reporter.emit(_event(EventType.STEP_FAILED, "b", None, data))


def test_plain_shows_a_failed_steps_last_lines_and_how_to_see_the_rest(tmp_path: Path) -> None:
    stream = io.StringIO()
    _fail(PlainReporter(stream), _failing_log(tmp_path))
    lines = [line.split("] ", 1)[1] for line in stream.getvalue().splitlines()]
    assert lines[2:] == [
        "b: failed: exit code 2",
        *(f"  | line {n} [red]" for n in range(6, 16)),
        "  full log: engine logs run1 b",
    ]


def test_json_shows_nothing_beyond_the_event(tmp_path: Path) -> None:
    stream = io.StringIO()
    _fail(JsonReporter(stream), _failing_log(tmp_path))
    assert "line 15" not in stream.getvalue()


def test_a_step_that_wrote_nothing_gets_no_tail(tmp_path: Path) -> None:
    stream = io.StringIO()
    _fail(PlainReporter(stream), _failing_log(tmp_path, lines=0))
    assert stream.getvalue().splitlines()[-1].endswith("b: failed: exit code 2")


def _live(**options: Any) -> tuple[LiveReporter, io.StringIO]:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=150, color_system=None)
    return LiveReporter(console=console, **options), out


def test_live_shows_a_failed_steps_last_lines_and_how_to_see_the_rest(tmp_path: Path) -> None:
    reporter, out = _live()
    _fail(reporter, _failing_log(tmp_path))
    reporter.finish(RunStatus.FAILED, 'step "b" failed', 1.0, 1)
    text = out.getvalue()
    assert "b: failed: exit code 2" in text
    assert "  | line 6 [red]" in text and "  | line 15 [red]" in text  # not taken as markup
    assert "line 5 " not in text
    assert "  full log: engine logs run1 b" in text


def test_live_counts_hooks_apart_and_skipped_steps() -> None:
    reporter, out = _live(hook_ids={"tidy"})
    reporter.start("run1", "plan", 2)
    for step_id, event in (
        ("a", EventType.STEP_SUCCEEDED),
        ("b", EventType.STEP_SKIPPED),
        ("tidy", EventType.STEP_SUCCEEDED),
    ):
        reporter.emit(_event(event, step_id, None, {}))
    assert reporter.counts_text() == "2/2 steps · 1 skipped · 1/1 hook"
    reporter.close()
    assert "2/2 steps · 1 skipped · 1/1 hook" in out.getvalue()


def test_live_shows_the_eta_from_history() -> None:
    reporter, out = _live(expected_ms=3_600_000)
    reporter.start("run1", "plan", 1)
    reporter.close()
    assert re.search(r"ETA ~(59m|1h)", out.getvalue()), out.getvalue()
    assert eta_text(None, 10.0) == ""
    assert eta_text(1000, 2000.0) == "ETA overdue"
