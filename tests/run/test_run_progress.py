"""What `engine run` prints: JSON lines, or plain lines without escapes when not on a terminal."""

from __future__ import annotations

import io
import json

from engine.progress import JsonReporter, PlainReporter, make_reporter
from engine.states import EventType, RunStatus


def drive(reporter: JsonReporter | PlainReporter) -> None:
    reporter.start("run1", "plan", 2)
    reporter.emit(EventType.STEP_READY, "a", None, {})
    reporter.emit(EventType.STEP_STARTED, "a", 1, {"pid": 5})
    reporter.emit(EventType.STEP_RETRY, "a", 1, {"reason": "exit code 3", "delay_sec": 0.5})
    reporter.emit(EventType.STEP_FAILED, "a", 2, {"reason": "exit code 3", "attempts": 2})
    reporter.finish(RunStatus.FAILED, 'step "a" failed', 1.5)


def test_json_lines() -> None:
    stream = io.StringIO()
    drive(JsonReporter(stream))
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [r["type"] for r in records] == [
        "run_started", "step_ready", "step_started", "step_retry", "step_failed", "run_completed",
    ]  # fmt: skip
    assert all(r["run_id"] == "run1" for r in records)
    assert records[-1]["status"] == "failed"


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


def test_quiet_prints_only_the_outcome() -> None:
    stream = io.StringIO()
    drive(PlainReporter(stream, quiet=True))
    assert len(stream.getvalue().splitlines()) == 1


def test_a_pipe_gets_plain_lines() -> None:
    assert isinstance(
        make_reporter(as_json=False, quiet=False, stream=io.StringIO()), PlainReporter
    )
    assert isinstance(make_reporter(as_json=True, quiet=False, stream=io.StringIO()), JsonReporter)
