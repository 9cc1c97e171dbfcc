"""Conditions at run time (docs/conditions.md): condition, skip_if, success(), failure()."""

from __future__ import annotations

import hashlib
import signal
from typing import Any

from tests.e2e.conftest import Engine
from tests.support import live_processes_with, wait_for


def sh(script: str, **fields: Any) -> dict[str, Any]:
    return {"command": "sh", "args": ["-c", script], **fields}


def test_condition_and_skip_if_skip_with_their_text_as_reason(engine: Engine) -> None:
    result = engine.run_plan(
        [
            {"id": "a", "command": "true"},
            {"id": "cond", "command": "true", "depends_on": ["a"], "condition": "vars.MODE == 'x'"},
            {"id": "skip", "command": "true", "skip_if": ["vars.MODE == 'y'", "env.NOPE == '1'"]},
            {"id": "runs", "command": "true", "condition": "vars.MODE == 'y'"},
            {"id": "after", "command": "true", "depends_on": ["cond", "skip"]},
        ],
        vars={"MODE": "y"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    steps = engine.steps()
    assert {k: str(s.status) for k, s in steps.items()} == {
        "a": "succeeded",
        "cond": "skipped",
        "skip": "skipped",
        "runs": "succeeded",
        "after": "succeeded",  # a step skipped by its own condition counts as fine
    }
    assert steps["cond"].reason == "condition was false: vars.MODE == 'x'"
    assert steps["skip"].reason == "skip_if was true: vars.MODE == 'y'"
    assert engine.last_run().status == "succeeded"


def test_a_condition_implies_success_of_the_dependencies(engine: Engine) -> None:
    result = engine.run_plan(
        [
            {"id": "fails", **sh("exit 1"), "on_failure": "skip_dependents"},
            {"id": "gated", "command": "true", "depends_on": ["fails"], "condition": "true"},
        ]
    )
    assert result.returncode == 1
    assert engine.statuses() == {"fails": "failed", "gated": "skipped"}
    assert engine.attempts("gated") == []


def test_success_does_not_pass_a_dependency_skipped_for_a_failure(engine: Engine) -> None:
    # b is skipped because a failed; `success()` after b must not treat that skip as fine.
    result = engine.run_plan(
        [
            {"id": "a", **sh("exit 1"), "on_failure": "skip_dependents"},
            {"id": "b", "command": "true", "depends_on": ["a"]},
            {"id": "c", "command": "true", "depends_on": ["b"], "condition": "success()"},
            {"id": "d", "command": "true", "condition": "success() and true", "depends_on": ["b"]},
        ]
    )
    assert result.returncode == 1
    assert engine.statuses() == {"a": "failed", "b": "skipped", "c": "skipped", "d": "skipped"}


def test_always_runs_a_cleanup_step_after_a_failure(engine: Engine) -> None:
    marker_file = engine.tmp_path / "cleaned"
    result = engine.run_plan(
        [
            {"id": "fails", **sh("exit 1")},
            {"id": "skipped", "command": "true", "depends_on": ["fails"]},
            {
                "id": "cleanup",
                **sh(f"touch {marker_file}"),
                "depends_on": ["skipped"],
                "condition": "always()",
            },
        ]
    )
    assert result.returncode == 1
    assert engine.last_run().status == "failed"
    assert engine.statuses() == {"fails": "failed", "skipped": "skipped", "cleanup": "succeeded"}
    assert marker_file.exists()


def test_always_runs_a_cleanup_step_after_sigint(engine: Engine, marker: str) -> None:
    marker_file = engine.tmp_path / "cleaned"
    path = engine.plan(
        [
            {"id": "long", "command": "sleep", "args": [marker]},
            {
                "id": "cleanup",
                **sh(f"touch {marker_file}"),
                "depends_on": ["long"],
                "condition": "always()",
            },
            {"id": "normal", "command": "true", "depends_on": ["long"]},
        ],
        globals={"kill_grace_sec": 0.5},
    )
    proc = engine.start("run", path)
    wait_for(lambda: live_processes_with(marker))
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert engine.last_run().status == "canceled"
    assert engine.statuses() == {"long": "canceled", "cleanup": "succeeded", "normal": "skipped"}
    assert marker_file.exists()


def test_failure_runs_a_step_only_when_a_dependency_failed(engine: Engine) -> None:
    result = engine.run_plan(
        [
            {"id": "fails", **sh("exit 1"), "on_failure": "continue"},
            {"id": "passes", "command": "true"},
            {
                "id": "on_fails",
                "command": "true",
                "depends_on": ["fails"],
                "condition": "failure()",
            },
            {
                "id": "on_passes",
                "command": "true",
                "depends_on": ["passes"],
                "condition": "failure()",
            },
        ]
    )
    assert result.returncode == 1
    steps = engine.steps()
    assert str(steps["on_fails"].status) == "succeeded"
    assert str(steps["on_passes"].status) == "skipped"
    assert steps["on_passes"].reason == "condition was false: failure()"


def test_a_condition_that_errors_fails_only_its_step(engine: Engine) -> None:
    result = engine.run_plan(
        [
            {"id": "a", "command": "true"},
            {
                "id": "broken",
                "command": "true",
                "depends_on": ["a"],
                "condition": "fromJSON(env.ENGINE_TEST_UNSET).ok",
                "on_failure": "continue",
            },
            {"id": "other", "command": "true", "depends_on": ["a"]},
        ]
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    steps = engine.steps()
    assert {k: str(s.status) for k, s in steps.items()} == {
        "a": "succeeded",
        "broken": "failed",
        "other": "succeeded",
    }
    assert steps["broken"].reason is not None
    assert steps["broken"].reason.startswith("condition could not be evaluated: ")
    assert "fromJSON()" in steps["broken"].reason
    # The failure is an attempt like any other, so queries that group by error code see it.
    [attempt] = engine.attempts("broken")
    assert (attempt.status, attempt.error_code, attempt.pid) == ("failed", "condition_error", None)
    assert attempt.message == steps["broken"].reason
    assert steps["broken"].attempts == 1
    logs = engine.run("logs", engine.last_run().id, "broken")
    assert (logs.returncode, logs.stdout) == (0, "")
    assert "broken#1 started no process, so it has no log: condition could not" in logs.stderr
    assert engine.last_run().status == "partial"


def test_failure_after_an_abort_does_not_run_a_step_whose_dependency_was_only_skipped(
    engine: Engine,
) -> None:
    # `bad` aborts the run; `x` is skipped for it. `notify` asks for failure() of `x` alone, and
    # `x` did not fail: the run having failed is what failure() means in a run hook, not here.
    result = engine.run_plan(
        [
            {"id": "bad", **sh("exit 1")},
            {"id": "x", "command": "true", "depends_on": ["bad"]},
            {"id": "notify", "command": "true", "depends_on": ["x"], "condition": "failure()"},
            {"id": "alarm", "command": "true", "depends_on": ["bad"], "condition": "failure()"},
        ]
    )
    assert result.returncode == 1, result.stderr
    steps = engine.steps()
    assert {k: str(s.status) for k, s in steps.items()} == {
        "bad": "failed",
        "x": "skipped",
        "notify": "skipped",
        "alarm": "succeeded",  # its own dependency failed: failure() still runs it after an abort
    }
    assert steps["notify"].reason == "condition was false: failure()"
    assert engine.attempts("notify") == []


def test_hash_files_reads_the_plan_directory_when_the_condition_is_decided(engine: Engine) -> None:
    expected = hashlib.sha256(hashlib.sha256(b"v1").digest()).hexdigest()
    result = engine.run_plan(
        [
            {"id": "write", **sh("printf 'v1' > out.lock")},
            {
                "id": "found",
                "command": "true",
                "depends_on": ["write"],
                "condition": f"hashFiles('*.lock') == '{expected}'",
            },
            {
                "id": "none",
                "command": "true",
                "depends_on": ["write"],
                "condition": "hashFiles('missing/**') != ''",
            },
        ]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert engine.statuses() == {"write": "succeeded", "found": "succeeded", "none": "skipped"}
