"""Scheduling rules, in process: a real plan, real subprocesses, a real ledger file in tmp_path.

No `engine` process is started: the test builds what `engine run` builds (the plan through the
loader, a LocalExecutor, a LedgerWriter and its Recorder) and awaits `Scheduler.run()` in its own
event loop, so a rule is checked in milliseconds. What the rules decided is read back from the
ledger through LedgerReader, as any client would.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.executors.local import LocalExecutor
from engine.ledger.ids import new_run_id
from engine.ledger.owner import Owner
from engine.ledger.reader import LedgerReader
from engine.ledger.records import Event
from engine.ledger.writer import LedgerWriter
from engine.plan.loader import load_document
from engine.run.environment import EnvironmentBuilder
from engine.run.recorder import RecordedEvent, Recorder
from engine.run.scheduler import Scheduler
from engine.run.state import RunSettings
from engine.states import RunStatus


@dataclass
class Ran:
    status: RunStatus
    error: str | None
    statuses: dict[str, str]
    attempts: dict[str, int]
    events: list[Event]

    def types(self, step_id: str) -> list[str]:
        return [event.type for event in self.events if event.step_id == step_id]


def sh(step_id: str, script: str, **fields: Any) -> dict[str, Any]:
    return {"id": step_id, "command": "sh", "args": ["-c", script], **fields}


def run_plan(
    tmp_path: Path,
    steps: list[dict[str, Any]],
    *,
    max_concurrency: int = 4,
    on_event: Callable[[Scheduler, RecordedEvent], None] | None = None,
    **top: Any,
) -> Ran:
    """Run the plan's DAG and hooks as `engine run` would, and read back what was recorded."""
    document = {"name": "plan", "globals": {"kill_grace_sec": 2}, **top, "steps": steps}
    loaded = load_document(document, str(tmp_path / "plan.json"), tmp_path, {})
    ledger = tmp_path / "ledger" / "framework.db"
    ledger.parent.mkdir()
    run_id = new_run_id()
    outputs_dir = tmp_path / "outputs" / run_id
    outputs_dir.mkdir(parents=True)
    settings = RunSettings(
        run_id=run_id, max_concurrency=max_concurrency, logs_dir=tmp_path / "logs" / run_id,
        outputs_dir=outputs_dir,
    )  # fmt: skip

    async def main() -> tuple[RunStatus, str | None]:
        writer = await LedgerWriter.open(ledger)
        scheduler: Scheduler | None = None

        def listen(event: RecordedEvent) -> None:
            if on_event is not None and scheduler is not None:
                on_event(scheduler, event)

        recorder = Recorder(writer, run_id, [listen])
        plan = loaded.plan
        recorder.run_created(
            plan_hash=loaded.hash, plan_name=plan.name, plan_version=plan.version,
            plan_json=loaded.canonical_json(), plan_path=None, vars=loaded.vars,
            step_ids=[s.id for s in plan.steps],
            hook_ids=[s.id for group in plan.hooks.values() for s in group],
            owner=Owner.current(), resumed_from=None, created_at=0.0,
        )  # fmt: skip
        executor = LocalExecutor()
        caller = dict(os.environ)
        scheduler = Scheduler(
            loaded, settings, recorder=recorder, executor=executor,
            environment=EnvironmentBuilder(plan, caller, {}, {}), caller_env=caller,
        )  # fmt: skip
        recorder.run_started(plan_name=plan.name, steps_total=len(plan.steps))
        try:
            status, error = await asyncio.wait_for(scheduler.run(), timeout=60)
        finally:
            executor.close()
        recorder.run_finished(status=status, error=error, exit_code=0, started=0.0)
        await writer.close()
        return status, error

    status, error = asyncio.run(main())
    with LedgerReader.open(ledger) as reader:
        steps_state = reader.run_steps(run_id)
        events = reader.events(run_id=run_id, after_id=0, limit=10_000)
    return Ran(
        status=status,
        error=error,
        statuses={s.step_id: str(s.status) for s in steps_state},
        attempts={s.step_id: s.attempts for s in steps_state},
        events=events,
    )


def test_a_step_starts_only_once_its_dependencies_succeeded(tmp_path: Path) -> None:
    ran = run_plan(
        tmp_path,
        [
            {"id": "c", "command": "true", "depends_on": ["b"]},
            {"id": "b", "command": "true", "depends_on": ["a"]},
            {"id": "a", "command": "true"},
        ],
    )
    assert ran.status is RunStatus.SUCCEEDED
    order = [
        (e.step_id, e.type) for e in ran.events if e.type in ("step_started", "step_succeeded")
    ]
    assert order == [
        ("a", "step_started"), ("a", "step_succeeded"), ("b", "step_started"),
        ("b", "step_succeeded"), ("c", "step_started"), ("c", "step_succeeded"),
    ]  # fmt: skip


def test_never_more_steps_run_than_max_concurrency(tmp_path: Path) -> None:
    steps = [{"id": f"s{n}", "command": "sleep", "args": ["0.05"]} for n in range(7)]
    ran = run_plan(tmp_path, steps, max_concurrency=2)
    assert ran.status is RunStatus.SUCCEEDED
    running = peak = 0
    for event in ran.events:  # the recording order: a slot is freed before the next start
        running += {"step_started": 1, "step_succeeded": -1}.get(event.type, 0)
        peak = max(peak, running)
    assert peak == 2


def test_skip_dependents_skips_only_what_depends_on_the_failure(tmp_path: Path) -> None:
    ran = run_plan(
        tmp_path,
        [
            {"id": "bad", "command": "false", "on_failure": "skip_dependents"},
            {"id": "child", "command": "true", "depends_on": ["bad"]},
            {"id": "grandchild", "command": "true", "depends_on": ["child"]},
            {"id": "other", "command": "true"},
        ],
    )
    assert ran.status is RunStatus.PARTIAL
    assert ran.statuses == {
        "bad": "failed", "child": "skipped", "grandchild": "skipped", "other": "succeeded",
    }  # fmt: skip
    assert ran.attempts["child"] == 0


def test_an_aborting_failure_cancels_running_steps_and_skips_the_rest(tmp_path: Path) -> None:
    started = tmp_path / "long-started"
    ran = run_plan(
        tmp_path,
        [
            sh("long", f"touch {started}; exec sleep 30"),
            # Fails only once `long` runs, so the abort finds it running.
            sh("bad", f"while [ ! -e {started} ]; do sleep 0.01; done; exit 4"),
            {"id": "later", "command": "true", "depends_on": ["bad"]},
        ],
        on_exit=[{"id": "bye", "command": "true"}],
    )
    assert ran.status is RunStatus.FAILED
    assert ran.error is not None and 'step "bad" failed' in ran.error
    assert ran.statuses == {
        "long": "canceled", "bad": "failed", "later": "skipped", "bye": "succeeded",
    }  # fmt: skip


def test_a_fallback_runs_in_place_of_its_failed_primary(tmp_path: Path) -> None:
    ran = run_plan(
        tmp_path,
        [
            {"id": "primary", "command": "false", "fallback": "standby"},
            {"id": "standby", "command": "true"},
            {"id": "after", "command": "true", "depends_on": ["primary"]},
            {"id": "unused", "command": "true", "fallback": "spare"},
            {"id": "spare", "command": "true"},
        ],
    )
    assert ran.status is RunStatus.SUCCEEDED, ran.error
    assert ran.statuses == {
        "primary": "failed", "standby": "succeeded", "after": "succeeded",
        "unused": "succeeded", "spare": "skipped",
    }  # fmt: skip
    assert ran.types("primary")[-1] == "step_fallback"


def test_retries_stop_at_max_attempts(tmp_path: Path) -> None:
    ran = run_plan(
        tmp_path,
        [
            {"id": "flaky", "command": "false", "retry": {"max_attempts": 3, "delay_sec": 0}},
            {"id": "once", "command": "true", "retry": {"max_attempts": 3, "delay_sec": 0}},
        ],
    )
    assert ran.status is RunStatus.FAILED
    assert ran.attempts == {"flaky": 3, "once": 1}
    assert ran.types("flaky") == [
        "step_ready", "step_started", "step_retry", "step_started", "step_retry", "step_started",
        "step_failed",
    ]  # fmt: skip


def test_canceling_a_running_step_lets_its_dependents_follow_its_policy(tmp_path: Path) -> None:
    def cancel_when_started(scheduler: Scheduler, event: RecordedEvent) -> None:
        if event.type == "step_started" and event.step_id == "long":
            asyncio.get_running_loop().call_soon(scheduler.cancel_step, "long")

    ran = run_plan(
        tmp_path,
        [
            {"id": "long", "command": "sleep", "args": ["30"], "on_failure": "skip_dependents"},
            {"id": "child", "command": "true", "depends_on": ["long"]},
            {"id": "other", "command": "true"},
        ],
        on_event=cancel_when_started,
    )
    assert ran.statuses == {"long": "canceled", "child": "skipped", "other": "succeeded"}
    assert ran.status is RunStatus.PARTIAL


def test_hooks_that_do_not_run_are_recorded_as_skipped(tmp_path: Path) -> None:
    ran = run_plan(
        tmp_path,
        [{"id": "a", "command": "true"}],
        on_failure=[{"id": "notify", "command": "true"}],
        on_success=[{"id": "cheer", "command": "true"}],
    )
    assert ran.statuses == {"a": "succeeded", "notify": "skipped", "cheer": "succeeded"}
    hooks = [e.data for e in ran.events if e.type == "hooks_started"]
    assert hooks == [{"hooks": "on_success", "run_status": "succeeded", "steps_total": 1}]


def test_the_scheduler_names_its_callbacks() -> None:
    """A lambda bound to a name (ruff's E731) hides in tracebacks; the scheduler has none."""
    source = Path(__file__).resolve().parents[2] / "engine" / "run" / "scheduler.py"
    assert "noqa: E731" not in source.read_text(encoding="utf-8")
