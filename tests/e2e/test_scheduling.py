"""`engine run` as a real process: concurrency, retries, timeouts, failure policies, fallbacks."""

from __future__ import annotations

import contextlib
import itertools
import time
from pathlib import Path
from typing import Any

import psutil

from tests.e2e.conftest import Engine
from tests.support import live_processes_with, wait_for


def sh(script: str, **fields: Any) -> dict[str, Any]:
    """A step body running `script` under /bin/sh."""
    return {"command": "sh", "args": ["-c", script], **fields}


def diamond(seconds: float = 0.3) -> list[dict[str, Any]]:
    return [
        {"id": "a", "command": "true"},
        {"id": "b", "command": "sleep", "args": [str(seconds)], "depends_on": ["a"]},
        {"id": "c", "command": "sleep", "args": [str(seconds)], "depends_on": ["a"]},
        {"id": "d", "command": "true", "depends_on": ["b", "c"]},
    ]


def overlapping(engine: Engine) -> set[frozenset[str]]:
    """Pairs of steps whose attempts overlapped in time, from the ledger."""
    attempts = engine.attempts()
    pairs = set()
    for one in attempts:
        for other in attempts:
            if one.step_id < other.step_id:
                assert one.finished_at is not None and other.finished_at is not None
                if one.started_at < other.finished_at and other.started_at < one.finished_at:
                    pairs.add(frozenset((one.step_id, other.step_id)))
    return pairs


# -- concurrency ---------------------------------------------------------------------------------


def test_diamond_with_max_concurrency_1_never_overlaps(engine: Engine) -> None:
    result = engine.run_plan(diamond(), globals={"max_concurrency": 1})
    assert result.returncode == 0, result.stderr
    assert engine.last_run().status == "succeeded"
    assert overlapping(engine) == set()
    order = [a.step_id for a in engine.attempts()]
    assert order[0] == "a" and order[-1] == "d"


def test_diamond_with_max_concurrency_2_runs_the_middle_side_by_side(engine: Engine) -> None:
    result = engine.run_plan(diamond(), globals={"max_concurrency": 2})
    assert result.returncode == 0, result.stderr
    assert overlapping(engine) == {frozenset("bc")}


def test_max_concurrency_flag_overrides_the_plan(engine: Engine) -> None:
    result = engine.run_plan(diamond(), "--max-concurrency", "1", globals={"max_concurrency": 4})
    assert result.returncode == 0, result.stderr
    assert overlapping(engine) == set()


# -- retries -------------------------------------------------------------------------------------


def test_retries_only_the_listed_exit_codes(engine: Engine) -> None:
    retry = {"max_attempts": 3, "delay_sec": 0.05, "on_exit_codes": [3]}
    result = engine.run_plan(
        [
            {"id": "listed", **sh("exit 3"), "retry": retry, "on_failure": "continue"},
            {"id": "unlisted", **sh("exit 4"), "retry": retry, "on_failure": "continue"},
        ]
    )
    assert result.returncode == 1
    listed = engine.attempts("listed")
    assert [a.attempt for a in listed] == [1, 2, 3]
    assert all(a.error_code == "exit_nonzero" and a.exit_code == 3 for a in listed)
    assert [a.retry_reason for a in listed] == [None, "exit code 3", "exit code 3"]
    assert [a.delay_ms for a in listed] == [None, 50, 50]
    unlisted = engine.attempts("unlisted")
    assert [(a.attempt, a.exit_code) for a in unlisted] == [(1, 4)]
    assert engine.statuses() == {"listed": "failed", "unlisted": "failed"}


def test_a_retried_step_that_then_succeeds_succeeds(engine: Engine) -> None:
    # Fails on its first attempt only: the attempt number is in the environment.
    step = sh('[ "$ENGINE_ATTEMPT" -ge 2 ]', retry={"max_attempts": 3, "delay_sec": 0})
    result = engine.run_plan([{"id": "flaky", **step}])
    assert result.returncode == 0, result.stderr
    assert [str(a.status) for a in engine.attempts("flaky")] == ["failed", "succeeded"]


def test_a_retry_waits_for_a_slot_behind_the_steps_already_waiting(engine: Engine) -> None:
    flaky = sh('[ "$ENGINE_ATTEMPT" -ge 2 ]', retry={"max_attempts": 2, "delay_sec": 0})
    result = engine.run_plan(
        [{"id": "flaky", **flaky}, {"id": "x", "command": "true"}, {"id": "y", "command": "true"}],
        globals={"max_concurrency": 1},
    )
    assert result.returncode == 0, result.stderr
    assert overlapping(engine) == set()
    started = sorted(engine.attempts(), key=lambda a: a.started_at)
    assert [(a.step_id, a.attempt) for a in started] == [
        ("flaky", 1), ("x", 1), ("y", 1), ("flaky", 2),
    ]  # fmt: skip


def test_backoff_delays_grow_to_the_cap_and_are_waited_out(engine: Engine) -> None:
    retry = {"max_attempts": 4, "delay_sec": 0.1, "backoff": 2, "max_delay_sec": 0.3}
    result = engine.run_plan([{"id": "s", **sh("exit 1"), "retry": retry}])
    assert result.returncode == 1
    attempts = engine.attempts("s")
    # attempt n waits min(max_delay_sec, delay_sec * backoff^(n-2))
    assert [a.delay_ms for a in attempts] == [None, 100, 200, 300]
    for before, after in itertools.pairwise(attempts):
        assert before.finished_at is not None and after.delay_ms is not None
        assert after.started_at - before.finished_at >= after.delay_ms / 1000 - 0.01


def test_jitter_keeps_each_delay_within_its_bound(engine: Engine) -> None:
    retry = {
        "max_attempts": 5,
        "delay_sec": 0.1,
        "backoff": 2,
        "max_delay_sec": 0.25,
        "jitter": True,
    }
    result = engine.run_plan([{"id": "s", **sh("exit 1"), "retry": retry}])
    assert result.returncode == 1
    delays = [a.delay_ms for a in engine.attempts("s")]
    assert delays[0] is None and len(delays) == 5
    for n, delay in enumerate(delays[1:], start=2):
        assert delay is not None
        assert 0 <= delay <= min(250, 100 * 2 ** (n - 2))


def test_timeouts_are_retried_only_with_on_timeout(engine: Engine, marker: str) -> None:
    result = engine.run_plan(
        [
            {
                "id": "retried", "command": "sleep", "args": [marker], "timeout_sec": 0.3,
                "retry": {"max_attempts": 2, "delay_sec": 0, "on_timeout": True},
                "on_failure": "continue",
            },
            {
                "id": "not_retried", "command": "sleep", "args": [marker], "timeout_sec": 0.3,
                "retry": {"max_attempts": 2, "delay_sec": 0}, "on_failure": "continue",
            },
        ],
        globals={"kill_grace_sec": 0.2},
    )  # fmt: skip
    assert result.returncode == 1
    assert [a.error_code for a in engine.attempts("retried")] == ["timeout", "timeout"]
    assert engine.attempts("retried")[1].retry_reason == "timeout"
    assert [a.error_code for a in engine.attempts("not_retried")] == ["timeout"]
    assert live_processes_with(marker) == []


def test_a_timeout_kills_the_whole_process_group(engine: Engine, marker: str) -> None:
    started = time.monotonic()
    result = engine.run_plan(
        [{"id": "s", **sh(f"sleep {marker} & sleep {marker}"), "timeout_sec": 0.5}],
        globals={"kill_grace_sec": 0.2},
    )
    assert time.monotonic() - started < 25  # not the sleep's 300 s
    assert result.returncode == 1
    (attempt,) = engine.attempts("s")
    assert attempt.error_code == "timeout"
    assert live_processes_with(marker) == []


def test_a_timeout_escalates_to_kill_after_the_grace(engine: Engine, marker: str) -> None:
    script = f"trap '' TERM; sleep {marker} & sleep {marker}"
    result = engine.run_plan(
        [{"id": "s", **sh(script), "timeout_sec": 0.3}], globals={"kill_grace_sec": 0.3}
    )
    assert result.returncode == 1
    assert engine.attempts("s")[0].error_code == "timeout"
    assert live_processes_with(marker) == []


# -- failure policies ------------------------------------------------------------------------------


def test_abort_cancels_running_steps_and_skips_the_rest(engine: Engine, marker: str) -> None:
    result = engine.run_plan(
        [
            {"id": "fails", **sh("sleep 0.3; exit 1")},
            {"id": "long", "command": "sleep", "args": [marker]},
            {"id": "after_fails", "command": "true", "depends_on": ["fails"]},
            {"id": "after_long", "command": "true", "depends_on": ["long"]},
        ],
        globals={"max_concurrency": 2, "kill_grace_sec": 0.2},
    )
    assert result.returncode == 1
    run = engine.last_run()
    assert run.status == "failed"
    assert engine.statuses() == {
        "fails": "failed",
        "long": "canceled",
        "after_fails": "skipped",
        "after_long": "skipped",
    }
    assert [str(a.status) for a in engine.attempts("long")] == ["canceled"]
    assert engine.attempts("after_long") == []
    assert live_processes_with(marker) == []


def test_abort_skips_a_step_still_waiting_for_a_slot(engine: Engine) -> None:
    result = engine.run_plan(
        [{"id": "fails", **sh("exit 1")}, {"id": "queued", "command": "true"}],
        globals={"max_concurrency": 1},
    )
    assert result.returncode == 1
    assert engine.statuses() == {"fails": "failed", "queued": "skipped"}


def test_skip_dependents_skips_transitively_and_runs_the_rest(engine: Engine) -> None:
    result = engine.run_plan(
        [
            {"id": "fails", **sh("exit 1"), "on_failure": "skip_dependents"},
            {"id": "child", "command": "true", "depends_on": ["fails"]},
            {"id": "grandchild", "command": "true", "depends_on": ["child"]},
            {"id": "other", "command": "sleep", "args": ["0.2"]},
            {"id": "after_other", "command": "true", "depends_on": ["other"]},
        ]
    )
    assert result.returncode == 1
    assert engine.last_run().status == "partial"
    assert engine.statuses() == {
        "fails": "failed",
        "child": "skipped",
        "grandchild": "skipped",
        "other": "succeeded",
        "after_other": "succeeded",
    }


def test_continue_lets_dependents_run(engine: Engine) -> None:
    result = engine.run_plan(
        [
            {"id": "fails", **sh("exit 1"), "on_failure": "continue"},
            {"id": "child", "command": "true", "depends_on": ["fails"]},
        ]
    )
    assert result.returncode == 1
    assert engine.last_run().status == "partial"
    assert engine.statuses() == {"fails": "failed", "child": "succeeded"}


def test_a_critical_step_fails_the_run_even_under_continue(engine: Engine) -> None:
    result = engine.run_plan(
        [
            {"id": "fails", **sh("exit 1"), "on_failure": "continue", "critical": True},
            {"id": "child", "command": "true", "depends_on": ["fails"]},
        ]
    )
    assert result.returncode == 1
    assert engine.last_run().status == "failed"
    assert engine.statuses()["child"] == "succeeded"


def test_a_fallback_runs_in_place_of_a_failed_step(engine: Engine) -> None:
    result = engine.run_plan(
        [
            {"id": "primary", **sh("exit 1"), "fallback": "plan_b"},
            {"id": "plan_b", **sh("echo via=plan_b >> $ENGINE_OUTPUT")},
            {"id": "child", "command": "true", "depends_on": ["primary"]},
            {"id": "fine", "command": "true", "fallback": "unused"},
            {"id": "unused", "command": "true"},
        ]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    statuses = engine.statuses()
    assert statuses["primary"] == "failed"
    assert statuses["plan_b"] == "succeeded"
    assert statuses["child"] == "succeeded"
    assert statuses["unused"] == "skipped"
    assert engine.steps()["unused"].reason == "fallback not needed"
    assert engine.attempts("unused") == []


def test_a_failed_fallback_stops_the_dependents(engine: Engine) -> None:
    result = engine.run_plan(
        [
            {
                "id": "primary",
                **sh("exit 1"),
                "fallback": "plan_b",
                "on_failure": "skip_dependents",
            },
            {"id": "plan_b", **sh("exit 2")},
            {"id": "child", "command": "true", "depends_on": ["primary"]},
        ]
    )
    assert result.returncode == 1
    assert engine.last_run().status == "partial"
    assert engine.statuses() == {"primary": "failed", "plan_b": "failed", "child": "skipped"}


# -- how an attempt ends --------------------------------------------------------------------------


def test_success_exit_codes(engine: Engine) -> None:
    result = engine.run_plan(
        [
            {"id": "three", **sh("exit 3"), "success_exit_codes": [0, 3]},
            {"id": "zero", "command": "true", "success_exit_codes": [3], "on_failure": "continue"},
        ]
    )
    assert result.returncode == 1
    assert engine.statuses() == {"three": "succeeded", "zero": "failed"}
    assert engine.attempts("zero")[0].error_code == "exit_nonzero"


def test_a_command_that_does_not_exist_is_a_spawn_failure(engine: Engine) -> None:
    result = engine.run_plan([{"id": "s", "command": "no-such-command-for-engine-tests"}])
    assert result.returncode == 1
    (attempt,) = engine.attempts("s")
    assert attempt.error_code == "spawn_failed"
    assert attempt.message and "no-such-command-for-engine-tests" in attempt.message
    assert engine.last_run().status == "failed"


def test_the_run_timeout_stops_everything(engine: Engine, marker: str) -> None:
    started = time.monotonic()
    result = engine.run_plan(
        [
            {"id": "long", "command": "sleep", "args": [marker]},
            {"id": "after", "command": "true", "depends_on": ["long"]},
        ],
        globals={"timeout_sec": 0.5, "kill_grace_sec": 0.2},
        on_failure=[{"id": "restore", "command": "true"}],
    )
    assert time.monotonic() - started < 25  # not the sleep's 300 s
    assert result.returncode == 1
    run = engine.last_run()
    # Failed, not canceled (docs/plans.md, "Timeouts"): its on_failure hooks clean up after it.
    assert run.status == "failed"
    assert run.error == "run timed out after 0.5s"
    assert engine.statuses() == {"long": "canceled", "after": "skipped", "restore": "succeeded"}
    assert live_processes_with(marker) == []


def big_output(engine: Engine, size: int, **top: Any) -> tuple[str, int]:
    """Run a step printing `size` zero bytes (masked if top has secrets); its log text, peak RSS."""
    step = {"id": "big", "command": "head", "args": ["-c", str(size), "/dev/zero"]}
    if "secrets" in top:
        step["secrets"] = top["secrets"]
    path = engine.plan([step], **top)
    proc = engine.start("run", path, env={"TOKEN": "not-in-the-output"})
    engine_process = psutil.Process(proc.pid)
    peak = 0

    def finished() -> bool:
        nonlocal peak
        with contextlib.suppress(psutil.NoSuchProcess):
            peak = max(peak, engine_process.memory_info().rss)
        return proc.poll() is not None

    wait_for(finished, timeout=60, interval=0.01)
    assert proc.returncode == 0, proc.communicate()[1]
    (attempt,) = engine.attempts("big")
    assert attempt.log_path is not None
    assert attempt.output_tail is not None and 0 < len(attempt.output_tail) <= 8192
    log_file = Path(attempt.log_path)
    try:
        assert log_file.stat().st_size == size
    finally:
        log_file.unlink()
    return attempt.output_tail, peak


def test_a_step_printing_a_gigabyte_leaves_the_engine_small(engine: Engine) -> None:
    _, peak = big_output(engine, 1 << 30)
    assert 0 < peak < 150 * 1024 * 1024


def test_masked_output_streams_through_the_engine_in_chunks(engine: Engine) -> None:
    # With a secret to mask, the output passes through the engine's pipe reader.
    _, peak = big_output(engine, 256 << 20, secrets=["TOKEN"])
    assert 0 < peak < 150 * 1024 * 1024
