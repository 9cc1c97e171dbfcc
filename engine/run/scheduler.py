"""Runs a plan's DAG: each step starts once its dependencies allow, never above max_concurrency.

Scheduling is event-driven: a finished step decrements a counter on each dependent, and a dependent
whose counter reaches zero is decided (run, skip or fail) at once, so the cost is linear in steps +
edges. The scheduler is handed its collaborators: it does not know how a process is spawned (the
`Executor`) or where a transition goes (the `Recorder`: the ledger and the display).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from engine.executors.base import Executor
from engine.plan.spec import GROUPS, LoadedPlan, OnFailure, Step
from engine.run.attempts import AttemptIO
from engine.run.environment import EnvironmentBuilder
from engine.run.recorder import Recorder
from engine.run.retry import retry_delay, retry_reason, should_retry
from engine.run.slots import Slots
from engine.run.state import RunSettings, StepRun, judge, judge_run
from engine.states import AttemptStatus, ErrorCode, EventType, RunStatus, StepStatus


class Scheduler:
    """Executes one run: the main DAG, then the hooks its outcome calls for."""

    def __init__(
        self,
        loaded: LoadedPlan,
        settings: RunSettings,
        *,
        recorder: Recorder,
        executor: Executor,
        environment: EnvironmentBuilder,
        caller_env: dict[str, str],
    ) -> None:
        self._loaded = loaded
        self._plan = loaded.plan
        self._settings = settings
        self._run_id = settings.run_id
        self._recorder = recorder
        self._executor = executor
        self._environment = environment
        self._caller_env = caller_env
        self._slots = Slots(settings.max_concurrency)
        self._steps: dict[str, StepRun] = {}
        self._views: dict[str, dict[str, object]] = {}  # what conditions see, by step id
        self._io = AttemptIO(loaded, settings, environment)
        self._tasks: set[asyncio.Task[None]] = set()
        self._pending = 0
        self._group_done = asyncio.Event()
        self._error: BaseException | None = None  # a step task died (the ledger failed): stop
        self._stop_reason: str | None = None  # set once no new step may start
        self._stop_outcome: RunStatus | None = None
        self._stopped = asyncio.Event()  # wakes steps sleeping out a retry delay
        self._killing = False
        self._failed: list[tuple[StepRun, StepStatus]] = []
        self._run_status = RunStatus.RUNNING

    # -- control, from signals, cancel requests and the run timeout ---------------------------

    def stop(self, reason: str, outcome: RunStatus) -> None:
        """Start nothing new; TERM running steps (grace, then KILL). First outcome wins."""
        if self._stop_reason is not None:
            return
        self._stop_reason, self._stop_outcome = reason, outcome
        self._stopped.set()
        grace = self._plan.globals.kill_grace_sec
        for run in self._steps.values():
            if run.handle is not None:
                self._spawn(run.handle.terminate(grace))

    def kill(self) -> None:
        """Kill every running step at once and run nothing more, hooks included (second Ctrl-C)."""
        self._killing = True
        self.stop("killed", RunStatus.CANCELED)
        for run in self._steps.values():
            if run.handle is not None:
                run.handle.kill()

    def cancel_step(self, step_id: str) -> bool:
        """Cancel one step; its dependents follow its on_failure policy. False if nothing runs."""
        run = self._steps.get(step_id)
        if run is None or run.status.is_final:
            return False
        run.cancel_requested = True
        if run.wake is not None:
            run.wake.set()
        if run.handle is not None:
            self._spawn(run.handle.terminate(self._plan.globals.kill_grace_sec))
        elif run.status is StepStatus.PENDING and not run.standby:
            run.waiting = -1  # never decided: it is final now
            self._finish(run, StepStatus.CANCELED, EventType.STEP_CANCELED, "canceled by request")
        return True

    # -- the run -------------------------------------------------------------------------------

    async def run(self) -> tuple[RunStatus, str | None]:
        """Run the DAG and the hooks; return the run's outcome and its error, if any."""
        try:
            await self._run_group("steps")
            status, error = judge_run(self._stop_outcome, self._stop_reason, self._failed)
            self._run_status = status
            hooks = ["on_success"] if status is RunStatus.SUCCEEDED else []
            if status in (RunStatus.FAILED, RunStatus.PARTIAL):
                hooks = ["on_failure"]
            hooks.append("on_exit")
            # Hooks run after an abort or a cancel too; only a kill stops them.
            if not self._killing:
                self._stop_reason, self._failed = None, []
                self._stopped.clear()
            for group in GROUPS[1:]:
                if group in hooks:
                    self._hooks_started(group, status)
                    await self._run_group(group)
                else:
                    self._skip_group(group, f"{group} hooks do not run when the run {status}")
            return status, error
        finally:
            for run in self._steps.values():
                if run.handle is not None:
                    run.handle.kill()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)

    def _hooks_started(self, group: str, status: RunStatus) -> None:
        """Mark in the event stream where a hook list begins, and which outcome called for it."""
        steps: list[Step] = getattr(self._plan, group)
        if steps and not self._killing:
            self._recorder.event(
                EventType.HOOKS_STARTED,
                data={"hooks": group, "run_status": str(status), "steps_total": len(steps)},
            )

    def _skip_group(self, group: str, reason: str) -> None:
        for step in getattr(self._plan, group):
            self._recorder.step_status(step.id, StepStatus.SKIPPED, EventType.STEP_SKIPPED, reason)

    async def _run_group(self, group: str) -> None:
        steps: list[Step] = getattr(self._plan, group)
        if not steps:
            return
        graph = self._loaded.graphs[group]
        standby = {s.fallback for s in steps if s.fallback}
        runs = [self._new_run(step, group, graph.deps[step.id]) for step in steps]
        for run in runs:
            run.standby = run.id in standby
        self._pending = sum(1 for run in runs if not run.standby)
        self._group_done.clear()
        # Snapshot the roots first: deciding one can finish it at once (reused, skipped) and bring
        # its dependents' counters to zero, and those are decided right there.
        roots = [run for run in runs if run.waiting == 0 and not run.standby]
        for run in roots:
            self._decide(run)
        if self._pending:
            await self._group_done.wait()
        if self._error is not None:
            raise self._error
        for run in runs:
            if run.standby and run.primary is None:
                self._finish(run, StepStatus.SKIPPED, EventType.STEP_SKIPPED, "fallback not needed")

    def _new_run(self, step: Step, group: str, deps: tuple[str, ...]) -> StepRun:
        run = StepRun(step=step, group=group, waiting=len(deps))
        if step.condition is not None or step.skip_if is not None:
            from engine.run import conditions  # only plans with conditions pay for the language

            run.condition, run.skip_ifs = conditions.parse(step)
        self._steps[step.id] = run
        return run

    # -- deciding whether a step runs ----------------------------------------------------------

    def _blocker(self, run: StepRun) -> str | None:
        """Why a step without a status function in its condition may not start, if it may not."""
        for dep in run.step.depends_on:
            other = self._steps[dep]
            if not other.ok:
                return f'dependency "{dep}" {other.status}'
        return self._stop_reason

    def _decide(self, run: StepRun) -> None:
        reused = self._settings.reused.get(run.id)
        if reused is not None and run.group == "steps":
            run.outputs = dict(reused)
            self._io.add_outputs(run.id, run.outputs)
            if reused:  # copied, so the resumed run's outputs are complete on their own
                self._recorder.outputs(run.id, 0, run.outputs)
            reason = f"reused from run {self._settings.resumed_from}"
            self._finish(run, StepStatus.REUSED, EventType.STEP_REUSED, reason, ok=True)
            return
        if self._killing:
            self._finish(run, StepStatus.SKIPPED, EventType.STEP_SKIPPED, "the engine was killed")
            return
        if run.condition is None and not run.skip_ifs:
            blocker = self._blocker(run)
            if blocker is not None:
                self._finish(run, StepStatus.SKIPPED, EventType.STEP_SKIPPED, blocker)
                return
        elif not self._conditions_allow(run):
            return
        run.status = StepStatus.READY
        self._recorder.step_ready(run.id)
        self._slots.request(lambda: self._spawn(self._execute(run)))

    def _conditions_allow(self, run: StepRun) -> bool:
        """Decide a step that has a condition or skip_if; False when it was finished here."""
        from engine.run.conditions import Decision, decide

        aborting = self._stop_reason is not None and self._stop_outcome is not RunStatus.CANCELED
        decision, reason = decide(
            run, self._blocker, views=self._views, variables=self._loaded.vars,
            env=self._caller_env, run_id=self._run_id,
            run_status=str(RunStatus.FAILED if aborting else self._run_status),
            canceled=self._stop_outcome is RunStatus.CANCELED and self._stop_reason is not None,
        )  # fmt: skip
        if decision is Decision.RUN:
            return True
        if decision is Decision.FAIL:
            message = reason or "condition could not be evaluated"
            run.attempt += 1
            self._recorder.attempt_not_started(
                run.id, run.attempt, error_code=ErrorCode.CONDITION_ERROR, message=message
            )
            self._fail(run, message)
        else:
            ok = decision is Decision.SKIP  # skipped by its own condition: dependents go on
            self._finish(run, StepStatus.SKIPPED, EventType.STEP_SKIPPED, reason, ok=ok)
        return False

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        """A task that raised (the ledger cannot be written) would leave the run waiting forever."""
        self._tasks.discard(task)
        if task.cancelled() or task.exception() is None or self._error is not None:
            return
        self._error = task.exception()
        self.kill()
        self._group_done.set()

    # -- running a step's attempts -------------------------------------------------------------

    def _may_start(self, run: StepRun) -> str | None:
        """Checked again once a slot is free: the run may have stopped while the step waited."""
        if run.cancel_requested:
            return "canceled by request"
        if self._stop_reason is None:
            return None
        if run.condition is not None and run.condition.uses_status_function and not self._killing:
            return None  # always()/failure() steps are exactly the ones meant to run now
        return self._stop_reason

    async def _execute(self, run: StepRun) -> None:
        retry_note: str | None = None
        delay: float | None = None
        while True:  # holding a slot: _decide starts the task with one, a retry waits for one
            try:
                reason = self._may_start(run)
                if reason is not None:
                    if run.cancel_requested or run.attempt:  # canceled, or stopped mid-retry
                        self._finish(
                            run, StepStatus.CANCELED, EventType.STEP_CANCELED, reason,
                            counts_as_failure=run.cancel_requested,
                        )  # fmt: skip
                    else:
                        self._finish(run, StepStatus.SKIPPED, EventType.STEP_SKIPPED, reason)
                    return
                run.attempt += 1
                attempt = run.attempt
                try:
                    spec = self._io.launch_spec(run.step, attempt)
                except KeyError as missing:
                    producer, name = missing.args[0]
                    self._fail(run, f'output "{name}" of step "{producer}" is not available')
                    return
                handle = await self._executor.launch(spec)
                run.handle, run.status = handle, StepStatus.RUNNING
                log_path = str(spec.log_path)
                self._recorder.attempt_started(
                    run.id, attempt, pid=handle.pid, log_path=log_path, retry_reason=retry_note,
                    delay_sec=delay,
                )  # fmt: skip
                if self._stop_reason is not None and self._may_start(run) is not None:
                    self._spawn(handle.terminate(self._plan.globals.kill_grace_sec))
                result = await handle.wait()
                run.handle = None
            finally:
                self._slots.release()
            verdict = judge(result, run.step)
            run.exit_code = result.exit_code
            status, error, message = verdict.status, verdict.error, verdict.message
            if status is AttemptStatus.SUCCEEDED:
                collected = self._io.collect(run.step, attempt)
                if collected.outputs:
                    self._recorder.outputs(run.id, attempt, collected.outputs)
                if collected.error is None:
                    run.outputs = collected.outputs
                else:
                    status, error, message = (
                        AttemptStatus.FAILED,
                        collected.error,
                        collected.message,
                    )
            else:
                self._io.discard(run.id, attempt)
            self._recorder.attempt_finished(
                run.id, attempt, at=result.finished_at, status=status, error_code=error,
                exit_code=result.exit_code, signal=result.signal, output_tail=result.output_tail,
                message=message,
            )  # fmt: skip
            if error is ErrorCode.TIMEOUT:
                self._record_event(
                    EventType.STEP_TIMEOUT, run, attempt, {"timeout_sec": spec.timeout_sec}
                )
            if result.log_error is not None:
                self._record_event(
                    EventType.STEP_LOG_TRUNCATED, run, attempt,
                    {"error": result.log_error, "bytes_lost": result.log_bytes_lost,
                     "log_path": log_path},
                )  # fmt: skip
            if status is AttemptStatus.SUCCEEDED:
                self._finish(run, StepStatus.SUCCEEDED, EventType.STEP_SUCCEEDED, None, ok=True)
                return
            if status is AttemptStatus.CANCELED or run.cancel_requested:
                reason = (
                    "canceled by request"
                    if run.cancel_requested
                    else f"canceled: {self._stop_reason}"
                )
                self._finish(
                    run,
                    StepStatus.CANCELED,
                    EventType.STEP_CANCELED,
                    reason,
                    counts_as_failure=run.cancel_requested,
                )
                return
            assert error is not None
            if self._stop_reason is None and should_retry(
                run.step.retry, attempt, error, result.exit_code
            ):
                assert run.step.retry is not None
                delay = retry_delay(run.step.retry, attempt + 1)
                retry_note = retry_reason(error, result.exit_code, result.signal)
                run.status = StepStatus.RETRYING
                retry_data: dict[str, object] = {
                    "attempt": attempt, "next_attempt": attempt + 1, "delay_sec": round(delay, 3),
                    "status": str(StepStatus.RETRYING), "reason": retry_note,
                }  # fmt: skip
                self._recorder.step_status(
                    run.id, StepStatus.RETRYING, EventType.STEP_RETRY, retry_note, retry_data
                )
                await self._sleep(run, delay)
                await self._slots.acquire()
                continue
            self._fail(run, message or str(error))
            return

    async def _sleep(self, run: StepRun, delay: float) -> None:
        """Wait out a retry delay; a stop of the run or a cancel of the step ends the wait early."""
        run.wake = asyncio.Event()
        waiters = [
            asyncio.ensure_future(self._stopped.wait()),
            asyncio.ensure_future(run.wake.wait()),
        ]
        try:
            await asyncio.wait(waiters, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            run.wake = None

    # -- finishing a step ----------------------------------------------------------------------

    def _record_event(
        self, event: EventType, run: StepRun, attempt: int | None, data: dict[str, object]
    ) -> None:
        self._recorder.event(event, run.id, attempt, data)

    def _fail(self, run: StepRun, reason: str) -> None:
        self._finish(run, StepStatus.FAILED, EventType.STEP_FAILED, reason, counts_as_failure=True)

    def _finish(
        self,
        run: StepRun,
        status: StepStatus,
        event: EventType,
        reason: str | None,
        *,
        ok: bool = False,
        counts_as_failure: bool = False,
    ) -> None:
        """Record a step's final status and let its dependents (or its fallback) go on."""
        primary = run.primary or run  # a fallback stands in its primary's place
        if counts_as_failure:
            ok = primary.step.on_failure is OnFailure.CONTINUE
        run.status, run.ok = status, ok
        self._views[run.id] = run.view()
        data: dict[str, object] = {"attempts": run.attempt}
        if run.exit_code is not None:
            data["exit_code"] = run.exit_code
        data["status"] = str(status)
        if reason is not None:
            data["reason"] = reason
        self._recorder.step_status(run.id, status, event, reason, data)
        if run.standby and run.primary is None:
            return  # a fallback that was never needed
        fallback = run.step.fallback
        if counts_as_failure and status is StepStatus.FAILED and fallback and not self._killing:
            standby = self._steps[fallback]
            standby.primary = primary
            self._record_event(
                EventType.STEP_FALLBACK, run, run.attempt or None, {"fallback": fallback}
            )
            self._decide(standby)
            return
        if counts_as_failure:
            self._failed.append((primary, status))
            # A failing hook stops neither the other hooks (on_exit runs all the same) nor the run.
            aborts = primary.step.on_failure is OnFailure.ABORT and primary.group == "steps"
            if status is StepStatus.FAILED and aborts:
                self.stop(f'step "{primary.id}" failed', RunStatus.FAILED)
        if run is not primary:
            primary.ok = ok
            self._views[primary.id] = primary.view()
        for dependent_id in self._loaded.graphs[primary.group].dependents[primary.id]:
            dependent = self._steps[dependent_id]
            dependent.waiting -= 1
            if dependent.waiting == 0:
                self._decide(dependent)
        self._pending -= 1
        if self._pending == 0:
            self._group_done.set()
