"""Cancel requests from another process, cancels during retry delays, caps on step durations."""

from __future__ import annotations

import signal
import time

from engine.ledger.control import request_cancel
from tests.e2e.conftest import Engine
from tests.support import live_processes_with, wait_for


def running_run_id(engine: Engine, marker: str, processes: int = 1) -> str:
    wait_for(lambda: len(live_processes_with(marker)) >= processes)
    return wait_for(lambda: engine.runs() and engine.last_run().id)


def test_a_cancel_request_cancels_the_whole_run(engine: Engine, marker: str) -> None:
    path = engine.plan(
        [
            {"id": "long", "command": "sleep", "args": [marker]},
            {"id": "after", "command": "true", "depends_on": ["long"]},
        ],
        globals={"kill_grace_sec": 0.5},
    )
    proc = engine.start("run", path)
    run_id = running_run_id(engine, marker)
    request_cancel(engine.ledger_path, run_id, requested_by="test")
    started = time.monotonic()
    proc.communicate(timeout=60)
    assert time.monotonic() - started < 20  # promptly (healthy: well under a second)
    assert proc.returncode == 1
    run = engine.last_run()
    assert run.status == "canceled"
    assert run.error == "canceled by test"
    assert engine.statuses() == {"long": "canceled", "after": "skipped"}
    assert live_processes_with(marker) == []


def test_a_cancel_request_for_one_step_lets_the_rest_go_on(engine: Engine, marker: str) -> None:
    path = engine.plan(
        [
            {"id": "long", "command": "sleep", "args": [marker], "on_failure": "skip_dependents"},
            {"id": "after", "command": "true", "depends_on": ["long"]},
            {"id": "other", "command": "sleep", "args": ["0.8"]},
        ],
        globals={"kill_grace_sec": 0.5},
    )
    proc = engine.start("run", path)
    run_id = running_run_id(engine, marker)
    request_cancel(engine.ledger_path, run_id, "long", requested_by="test")
    proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert engine.statuses() == {"long": "canceled", "after": "skipped", "other": "succeeded"}
    assert engine.last_run().status == "partial"
    assert live_processes_with(marker) == []


def test_sigint_during_a_retry_delay_cancels_at_once(engine: Engine) -> None:
    path = engine.plan(
        [{"id": "flaky", "command": "false", "retry": {"max_attempts": 3, "delay_sec": 60}}]
    )
    proc = engine.start("run", path)
    wait_for(lambda: engine.runs() and engine.statuses().get("flaky") == "retrying")
    proc.send_signal(signal.SIGINT)
    started = time.monotonic()
    proc.communicate(timeout=60)
    assert time.monotonic() - started < 20  # not the 60 s retry delay
    assert proc.returncode == 130
    assert engine.statuses() == {"flaky": "canceled"}
    assert len(engine.attempts("flaky")) == 1


def test_max_step_duration_caps_a_step_timeout(engine: Engine, marker: str) -> None:
    started = time.monotonic()
    result = engine.run_plan(
        [
            {
                "id": "capped",
                "command": "sleep",
                "args": [marker],
                "timeout_sec": 120,
                "on_failure": "continue",
            },
            {"id": "defaulted", "command": "sleep", "args": [marker], "on_failure": "continue"},
        ],
        globals={
            "max_step_duration_sec": 0.4,
            "default_timeout_sec": 100,
            "kill_grace_sec": 0.2,
            "max_concurrency": 2,
        },
    )
    assert time.monotonic() - started < 25  # not the 100 s timeouts
    assert result.returncode == 1
    assert [a.error_code for a in engine.attempts()] == ["timeout", "timeout"]
    assert live_processes_with(marker) == []


def test_a_reference_to_an_output_that_was_never_written_fails_its_step(engine: Engine) -> None:
    result = engine.run_plan(
        [
            {
                "id": "producer",
                "command": "sh",
                "args": ["-c", 'echo "V=1" >> "$ENGINE_OUTPUT"'],
                "condition": "vars.RUN == 'yes'",
                "provides": ["V"],
            },
            {
                "id": "consumer",
                "command": "echo",
                "args": ["${steps.producer.outputs.V}"],
                "depends_on": ["producer"],
            },
        ],
        vars={"RUN": "no"},
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    steps = engine.steps()
    assert str(steps["producer"].status) == "skipped"
    assert str(steps["consumer"].status) == "failed"
    assert steps["consumer"].reason == 'output "V" of step "producer" is not available'
