"""Runs a plan's DAG: each step starts once its dependencies allow, never above max_concurrency.

Scheduling is event-driven: a finished step decrements a counter on each dependent, and a dependent
whose counter reaches zero is decided (run, skip or fail) at once, so the cost is linear in steps +
edges. The scheduler is handed its collaborators: it does not know how a process is spawned (the
`Executor`) or where a transition goes (the `Recorder`: the ledger and the display).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from engine.executors.base import AttemptHandle, Executor
from engine.plan.fingerprint import Fingerprinter
from engine.plan.spec import GROUPS, LoadedPlan, OnFailure, Step
from engine.run.attempt_loop import AttemptLoop, StopState
from engine.run.attempts import AttemptIO
from engine.run.environment import EnvironmentBuilder
from engine.run.recorder import Recorder
from engine.run.slots import Slots
from engine.run.state import RunSettings, ScheduledStep, judge_run
from engine.states import ErrorCode, EventType, RunStatus, StepStatus

if TYPE_CHECKING:
    from engine.run.leases import LeaseBroker
    from engine.run.matrix_groups import MatrixGroups  # only a plan with a matrix
    from engine.run.step_cache import StepCache


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
        self._steps: dict[str, ScheduledStep] = {}
        self._views: dict[str, dict[str, object]] = {}  # what conditions see, by step id
        self._io = AttemptIO(loaded, settings, environment)
        self._fingerprints = Fingerprinter(loaded)
        self._cache: StepCache | None = None
        if any(spec.cache is not None for spec in self._plan.all_steps()):
            from engine.run.step_cache import StepCache  # only plans that cache a step pay

            self._cache = StepCache(loaded, recorder.writer, caller_env, settings.force)
        self._tasks: set[asyncio.Task[None]] = set()
        self._pending = 0
        self._group_done = asyncio.Event()
        self._error: BaseException | None = None  # a step task died (the ledger failed): stop
        self._stop = StopState()
        self._attempts = AttemptLoop(
            recorder=recorder, executor=executor, io=self._io, slots=self._slots, stop=self._stop,
            kill_grace_sec=self._plan.globals.kill_grace_sec, spawn=self._spawn,
            plan_name=self._plan.name,
        )  # fmt: skip
        self._failed: list[tuple[ScheduledStep, StepStatus]] = []
        self._run_status = RunStatus.RUNNING
        self._leases: LeaseBroker | None = None
        if self._plan.pools:
            from engine.run.leases import LeaseBroker  # only plans with pools pay for it

            self._leases = LeaseBroker(recorder)
        self._matrix: MatrixGroups | None = None
        if any(step.matrix is not None for step in self._plan.all_steps()):
            from engine.run.matrix_groups import MatrixGroups

            self._matrix = MatrixGroups(self._plan.all_steps())

    @property
    def outputs(self) -> dict[tuple[str, str], str]:
        """Every output recorded in the run so far, by (step id, name)."""
        return self._io.outputs

    # -- control, from signals, cancel requests and the run timeout ---------------------------

    def stop(self, reason: str, outcome: RunStatus) -> None:
        """Start nothing new; TERM running steps (grace, then KILL). First outcome wins."""
        if self._stop.reason is not None:
            return
        self._stop.reason, self._stop.outcome = reason, outcome
        self._stop.stopped.set()
        grace = self._plan.globals.kill_grace_sec
        for step in self._steps.values():
            if step.handle is not None:
                self._spawn(step.handle.terminate(grace))

    def kill(self) -> None:
        """Kill every running step at once and run nothing more, hooks included (second Ctrl-C)."""
        self._stop.killing = True
        self.stop("killed", RunStatus.CANCELED)
        for step in self._steps.values():
            if step.handle is not None:
                step.handle.kill()

    def cancel_step(self, step_id: str, reason: str = "canceled by request") -> bool:
        """Cancel one step (a matrix step: each expansion); its dependents follow its on_failure
        policy. False if nothing runs."""
        if self._matrix is not None and step_id in self._matrix.members:
            canceled = [self.cancel_step(sid, reason) for sid in self._matrix.members[step_id]]
            return any(canceled)
        step = self._steps.get(step_id)
        if step is None or step.status.is_final:
            return False
        step.cancel_requested, step.cancel_reason = True, reason
        if step.wake is not None:
            step.wake.set()
        if step.handle is not None:
            self._spawn(step.handle.terminate(self._plan.globals.kill_grace_sec))
        elif step.status is StepStatus.PENDING and not step.standby:
            step.waiting = -1  # never decided: it is final now
            self._finish(step, StepStatus.CANCELED, EventType.STEP_CANCELED, reason)
        return True

    def attempt(self, step_id: str) -> AttemptHandle | None:
        """The attempt of a step running now, if one is (`engine extend` lengthens its timeout)."""
        step = self._steps.get(step_id)
        return None if step is None else step.handle

    @property
    def stop_reason(self) -> str | None:
        """Why no new step may start, once the run was stopped (canceled, aborted, timed out)."""
        return self._stop.reason

    def skip_all(self, reason: str) -> None:
        """Record every step and hook skipped: the run ends before it began (it never got its
        concurrency group), so nothing of it may run, hooks included."""
        for group in GROUPS:
            self._skip_group(group, reason)

    # -- the run -------------------------------------------------------------------------------

    async def run(self) -> tuple[RunStatus, str | None]:
        """Run the DAG and the hooks; return the run's outcome and its error, if any."""
        try:
            await self._run_group("steps")
            status, error = judge_run(self._stop.outcome, self._stop.reason, self._failed)
            self._run_status = status
            hooks = ["on_success"] if status is RunStatus.SUCCEEDED else []
            if status in (RunStatus.FAILED, RunStatus.PARTIAL):
                hooks = ["on_failure"]
            hooks.append("on_exit")
            # Hooks run after an abort or a cancel too; only a kill stops them.
            if not self._stop.killing:
                self._stop.reason, self._failed = None, []
                self._stop.stopped.clear()
            for group in GROUPS[1:]:
                if group in hooks:
                    self._hooks_started(group, status)
                    await self._run_group(group)
                else:
                    self._skip_group(group, f"{group} hooks do not run when the run {status}")
            return status, error
        finally:
            for step in self._steps.values():
                if step.handle is not None:
                    step.handle.kill()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            if self._leases is not None:
                self._leases.close()

    def _hooks_started(self, group: str, status: RunStatus) -> None:
        specs: list[Step] = getattr(self._plan, group)
        if specs and not self._stop.killing:
            self._recorder.hooks_started(group, status, len(specs))

    def _skip_group(self, group: str, reason: str) -> None:
        self._recorder.skipped([spec.id for spec in getattr(self._plan, group)], reason)

    async def _run_group(self, group: str) -> None:
        specs: list[Step] = getattr(self._plan, group)
        if not specs:
            return
        graph = self._loaded.graphs[group]
        standby = {s.fallback for s in specs if s.fallback}
        members = [self._new_step(spec, group, graph.deps[spec.id]) for spec in specs]
        for step in members:
            step.standby = step.id in standby
        self._pending = sum(1 for step in members if not step.standby)
        self._group_done.clear()
        # Snapshot the roots first: deciding one can finish it at once (reused, skipped) and bring
        # its dependents' counters to zero, and those are decided right there.
        roots = [step for step in members if step.waiting == 0 and not step.standby]
        for step in roots:
            self._decide(step)
        if self._pending:
            await self._group_done.wait()
        if self._error is not None:
            raise self._error
        for step in members:
            if step.standby and step.primary is None:
                self._finish(
                    step, StepStatus.SKIPPED, EventType.STEP_SKIPPED, "fallback not needed"
                )

    def _new_step(self, spec: Step, group: str, deps: tuple[str, ...]) -> ScheduledStep:
        step = ScheduledStep(spec=spec, group=group, waiting=len(deps))
        if spec.condition is not None or spec.skip_if is not None:
            from engine.run import conditions  # only plans with conditions pay for the language

            step.condition, step.skip_ifs = conditions.parse(spec)
        self._steps[spec.id] = step
        return step

    # -- deciding whether a step runs ----------------------------------------------------------

    def _blocker(self, step: ScheduledStep) -> str | None:
        """Why a step without a status function in its condition may not start, if it may not."""
        for dep in step.spec.depends_on:
            other = self._steps[dep]
            if not other.ok:
                return f'dependency "{dep}" {other.status}'
        return self._stop.reason

    def _decide(self, step: ScheduledStep) -> None:
        reused = self._settings.reused.get(step.id)
        if reused is not None and step.group == "steps":
            step.outputs = dict(reused)
            self._io.add_outputs(step.id, step.outputs)
            if reused:  # copied, so the resumed run's outputs are complete on their own
                self._recorder.outputs(step.id, 0, step.outputs)
            digest, parts = self._fingerprints.full(step.spec, self._io.outputs)
            self._recorder.step_source(step.id, (digest, parts, None), self._settings.resumed_from)
            reason = f"reused from run {self._settings.resumed_from}"
            self._finish(step, StepStatus.REUSED, EventType.STEP_REUSED, reason, ok=True)
            return
        if self._stop.killing:
            self._finish(step, StepStatus.SKIPPED, EventType.STEP_SKIPPED, "the engine was killed")
            return
        if step.condition is None and not step.skip_ifs:
            blocker = self._blocker(step)
            if blocker is not None:
                self._finish(step, StepStatus.SKIPPED, EventType.STEP_SKIPPED, blocker)
                return
        elif not self._conditions_allow(step):
            return
        step.status = StepStatus.READY
        if step.spec.cache is not None and self._cache is not None:
            self._spawn(self._from_cache(step, self._cache))
            return
        digest, parts = self._fingerprints.full(step.spec, self._io.outputs)
        self._recorder.step_ready(step.id, (digest, parts, None))
        self._start(step)

    def _start(self, step: ScheduledStep) -> None:
        """Queue a ready step: its matrix's turn first if it has a max_parallel, then its pool's."""
        if self._matrix is not None and step.spec.matrix is not None:
            self._matrix.request(step.spec, lambda: self._queue(step))
            return
        self._queue(step)

    def _queue(self, step: ScheduledStep) -> None:
        if step.spec.pool is None:
            self._slots.request(lambda: self._spawn(self._attempt(step)))
        else:
            self._spawn(self._pooled(step))

    async def _pooled(self, step: ScheduledStep) -> None:
        """Wait for a slot of the step's pool (shared by every run), then for a run slot."""
        from engine.run.leases import acquire_pool

        assert self._leases is not None
        lease = await acquire_pool(self._leases, self._plan, self._recorder, step, self._attempts)
        self._slots.request(lambda: self._spawn(self._attempt(step, lease)))

    async def _from_cache(self, step: ScheduledStep, cache: StepCache) -> None:
        """Take a cached step's result from an earlier run, or say why not and run it."""
        reason = await cache.consult(step, self._fingerprints, self._io, self._recorder)
        if reason is not None:
            self._finish(step, StepStatus.REUSED, EventType.STEP_REUSED, reason, ok=True)
        else:
            self._start(step)

    def _conditions_allow(self, step: ScheduledStep) -> bool:
        """Decide a step that has a condition or skip_if; False when it was finished here."""
        from engine.run.conditions import Decision, decide

        aborting = self._stop.reason is not None and self._stop.outcome is not RunStatus.CANCELED
        decision, reason = decide(
            step, self._blocker, views=self._views, variables=self._loaded.vars,
            env=self._caller_env, run_id=self._run_id,
            run_status=str(RunStatus.FAILED if aborting else self._run_status),
            canceled=self._stop.outcome is RunStatus.CANCELED and self._stop.reason is not None,
            base_dir=str(self._loaded.base_dir),
        )  # fmt: skip
        if decision is Decision.RUN:
            return True
        if decision is Decision.FAIL:
            message = reason or "condition could not be evaluated"
            step.attempt += 1
            self._recorder.attempt_not_started(
                step.id, step.attempt, error_code=ErrorCode.CONDITION_ERROR, message=message
            )
            self._fail(step, message)
        else:
            ok = decision is Decision.SKIP  # skipped by its own condition: dependents go on
            self._finish(step, StepStatus.SKIPPED, EventType.STEP_SKIPPED, reason, ok=ok)
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

    async def _attempt(self, step: ScheduledStep, lease: int | None = None) -> None:
        """Run a step's attempts (a slot is held), then record its outcome and act on it."""
        outcome = await self._attempts.run(step)
        if lease is not None and self._leases is not None:
            self._leases.release(lease)  # with its outcome: the next holder starts after it
        self._finish(
            step, outcome.status, outcome.event, outcome.reason, ok=outcome.ok,
            counts_as_failure=outcome.counts_as_failure,
        )  # fmt: skip

    # -- finishing a step ----------------------------------------------------------------------

    def _fail(self, step: ScheduledStep, reason: str) -> None:
        self._finish(step, StepStatus.FAILED, EventType.STEP_FAILED, reason, counts_as_failure=True)

    def _finish(
        self,
        step: ScheduledStep,
        status: StepStatus,
        event: EventType,
        reason: str | None,
        *,
        ok: bool = False,
        counts_as_failure: bool = False,
    ) -> None:
        """Record a step's final status and let its dependents (or its fallback) go on."""
        primary = step.primary or step  # a fallback stands in its primary's place
        if counts_as_failure:
            ok = primary.spec.on_failure is OnFailure.CONTINUE
        step.status, step.ok = status, ok
        self._views[step.id] = step.view()
        self._recorder.step_status(step.id, status, event, reason, step.outcome_data(reason))
        if step.standby and step.primary is None:
            return  # a fallback that was never needed
        fallback = step.spec.fallback
        if (
            counts_as_failure
            and status is StepStatus.FAILED
            and fallback
            and not self._stop.killing
        ):
            standby = self._steps[fallback]
            standby.primary = primary
            self._recorder.event(
                EventType.STEP_FALLBACK, step.id, step.attempt or None, {"fallback": fallback}
            )
            self._decide(standby)
            return
        if counts_as_failure:
            self._failed.append((primary, status))
            # A failing hook stops neither the other hooks (on_exit runs all the same) nor the run.
            aborts = primary.spec.on_failure is OnFailure.ABORT and primary.group == "steps"
            if status is StepStatus.FAILED and aborts:
                self.stop(f'step "{primary.id}" failed', RunStatus.FAILED)
        if step is not primary:
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
        if self._matrix is not None and step.spec.matrix is not None:
            failed = counts_as_failure and status is StepStatus.FAILED
            for sibling in self._matrix.finished(step.spec, failed):
                self.cancel_step(sibling, f'fail_fast: "{step.id}" failed')
