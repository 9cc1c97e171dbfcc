"""One step's attempts: launch, wait, judge, retry after a delay; the step's outcome at the end.

The loop records each attempt and each retry, and returns the step's final status for the
scheduler to record and act on (dependents, fallback, abort): it knows nothing of the DAG.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.executors.base import AttemptResult, Executor, LaunchSpec, Placed
from engine.plan.variables import OutputFieldError
from engine.run.attempts import AttemptIO
from engine.run.recorder import Recorder
from engine.run.retry import retry_delay, retry_reason, should_retry
from engine.run.slots import Slots
from engine.run.state import ScheduledStep, judge
from engine.states import AttemptStatus, ErrorCode, EventType, RunStatus, StepStatus

if TYPE_CHECKING:
    from engine.run.circuit import Circuits


@dataclass
class StopState:
    """Whether the run starts no new step, why, and whether it kills rather than waits."""

    reason: str | None = None  # set once no new step may start
    outcome: RunStatus | None = None
    killing: bool = False
    stopped: asyncio.Event = field(default_factory=asyncio.Event)  # wakes retry delays


@dataclass(frozen=True)
class Outcome:
    """How a step ended: the status and event to record, and what it means for the run."""

    status: StepStatus
    event: EventType
    reason: str | None
    ok: bool = False  # dependents may go on as if it succeeded
    counts_as_failure: bool = False  # its on_failure policy (and fallback) decides what follows


def failed(reason: str) -> Outcome:
    return Outcome(StepStatus.FAILED, EventType.STEP_FAILED, reason, counts_as_failure=True)


SUCCEEDED = Outcome(StepStatus.SUCCEEDED, EventType.STEP_SUCCEEDED, None, ok=True)


class AttemptLoop:
    """Runs a step's attempts while it holds a concurrency slot, retrying as its policy says."""

    def __init__(
        self,
        *,
        recorder: Recorder,
        executor: Executor,
        io: AttemptIO,
        slots: Slots,
        stop: StopState,
        kill_grace_sec: float,
        spawn: Callable[[Coroutine[Any, Any, None]], None],
        plan_name: str = "",
    ) -> None:
        self._recorder = recorder
        self._plan_name = plan_name  # a circuit's default key is the plan name and step id
        self._circuits: Circuits | None = None
        self._executor = executor
        self._io = io
        self._slots = slots
        self._stop = stop
        self._grace = kill_grace_sec
        self._spawn = spawn

    def may_start(self, step: ScheduledStep) -> str | None:
        """Checked again once a slot is free: the run may have stopped while the step waited."""
        if step.cancel_requested:
            return step.cancel_reason
        if self._stop.reason is None:
            return None
        condition = step.condition
        if condition is not None and condition.uses_status_function and not self._stop.killing:
            return None  # always()/failure() steps are exactly the ones meant to run now
        return self._stop.reason

    def gives_up(self, step: ScheduledStep) -> bool:
        """True once the step may no longer start, so a wait on its behalf (a pool slot) ends."""
        return self.may_start(step) is not None

    async def run(self, step: ScheduledStep) -> Outcome:
        """Attempt the step until it succeeds, cannot retry, or is stopped; a slot is held."""
        retry_note: str | None = None
        delay: float | None = None
        while True:  # holding a slot: the scheduler starts the loop with one, a retry waits again
            try:
                reason = self.may_start(step)
                if reason is not None:
                    if step.cancel_requested or step.attempt:  # canceled, or stopped mid-retry
                        return Outcome(
                            StepStatus.CANCELED, EventType.STEP_CANCELED, reason,
                            counts_as_failure=step.cancel_requested,
                        )  # fmt: skip
                    return Outcome(StepStatus.SKIPPED, EventType.STEP_SKIPPED, reason)
                if step.spec.circuit is not None and (refused := await self._circuit(step)):
                    return failed(refused)
                step.attempt += 1
                attempt = step.attempt
                try:
                    spec = self._io.launch_spec(step.spec, attempt)
                except KeyError as missing:
                    producer, name = missing.args[0]
                    return failed(f'output "{name}" of step "{producer}" is not available')
                except OutputFieldError as missing_field:
                    return failed(str(missing_field))
                handle = await self._executor.launch(spec)
                step.handle, step.status = handle, StepStatus.RUNNING
                self._recorder.attempt_started(
                    step.id, attempt, pid=handle.pid, log_path=str(spec.log_path),
                    retry_reason=retry_note, delay_sec=delay,
                )  # fmt: skip
                if (placement := getattr(handle, "placement", None)) is not None:
                    placement.add_done_callback(self._placed(step.id, attempt))
                if self._stop.reason is not None and self.may_start(step) is not None:
                    self._spawn(handle.terminate(self._grace))
                if self._circuits is not None and step.spec.circuit is not None:
                    await self._circuits.count(step.spec, attempt)
                result = await handle.wait()
                step.handle = None
            finally:
                self._slots.release()
                if self._circuits is not None:
                    self._circuits.settled(step.spec)  # a trial that never started
            status, error, message = self._attempt_finished(step, spec, result)
            if status is AttemptStatus.SUCCEEDED:
                return SUCCEEDED
            if status is AttemptStatus.CANCELED or step.cancel_requested:
                # The status already says canceled: the reason says only why.
                reason = (
                    step.cancel_reason if step.cancel_requested else self._stop.reason
                ) or "canceled"
                return Outcome(
                    StepStatus.CANCELED, EventType.STEP_CANCELED, reason,
                    counts_as_failure=step.cancel_requested,
                )  # fmt: skip
            assert error is not None
            retry = step.spec.retry
            if self._stop.reason is not None or not should_retry(
                retry, attempt, error, result.exit_code
            ):
                return failed(message or str(error))
            assert retry is not None
            delay = retry_delay(retry, attempt + 1)
            retry_note = retry_reason(error, result.exit_code, result.signal)
            step.status = StepStatus.RETRYING
            retry_data: dict[str, object] = {
                "attempt": attempt, "next_attempt": attempt + 1, "delay_sec": round(delay, 3),
                "status": str(StepStatus.RETRYING), "reason": retry_note,
            }  # fmt: skip
            self._recorder.step_status(
                step.id, StepStatus.RETRYING, EventType.STEP_RETRY, retry_note, retry_data
            )
            await self._sleep(step, delay)
            await self._slots.acquire()

    def _placed(self, step_id: str, attempt: int) -> Callable[[asyncio.Future[Placed]], None]:
        """Records where a cluster started the attempt, once it has (never, if it was not)."""

        def record(placement: asyncio.Future[Placed]) -> None:
            if not placement.cancelled():
                self._recorder.attempt_placed(step_id, attempt, placement.result())

        return record

    async def _circuit(self, step: ScheduledStep) -> str | None:
        """Fail the attempt fast, recorded with the error code circuit_open, if its circuit is
        open; otherwise None, and the attempt will count for the circuit."""
        if self._circuits is None:
            from engine.run.circuit import Circuits  # only plans with circuits pay for it

            self._circuits = Circuits(self._recorder, self._plan_name)
        refused = await self._circuits.refusal(step.spec)
        if refused is not None:
            step.attempt += 1
            self._recorder.attempt_not_started(
                step.id, step.attempt, error_code=ErrorCode.CIRCUIT_OPEN, message=refused
            )
        return refused

    def _attempt_finished(
        self, step: ScheduledStep, spec: LaunchSpec, result: AttemptResult
    ) -> tuple[AttemptStatus, ErrorCode | None, str | None]:
        """Judge an attempt, read its outputs back if it succeeded, and record how it ended."""
        attempt = spec.attempt
        verdict = judge(result, step.spec)
        step.exit_code = result.exit_code
        status, error, message = verdict.status, verdict.error, verdict.message
        if status is AttemptStatus.SUCCEEDED:
            collected = self._io.collect(step.spec, attempt)
            if collected.outputs:
                self._recorder.outputs(step.id, attempt, collected.outputs)
            if collected.error is None:
                step.outputs = collected.outputs
            else:
                status, error, message = AttemptStatus.FAILED, collected.error, collected.message
        else:
            self._io.discard(step.id, attempt)
        self._recorder.attempt_finished(
            step.id, attempt, at=result.finished_at, status=status, error_code=error,
            exit_code=result.exit_code, signal=result.signal, output_tail=result.output_tail,
            message=message, cpu_user_ms=result.cpu_user_ms, cpu_sys_ms=result.cpu_sys_ms,
            max_rss_kb=result.max_rss_kb,
        )  # fmt: skip
        if error is ErrorCode.TIMEOUT:
            self._recorder.event(
                EventType.STEP_TIMEOUT, step.id, attempt, {"timeout_sec": spec.timeout_sec}
            )
        if result.log_error is not None:
            self._recorder.event(
                EventType.STEP_LOG_TRUNCATED, step.id, attempt,
                {"error": result.log_error, "bytes_lost": result.log_bytes_lost,
                 "log_path": str(spec.log_path)},
            )  # fmt: skip
        return status, error, message

    async def _sleep(self, step: ScheduledStep, delay: float) -> None:
        """Wait out a retry delay; a stop of the run or a cancel of the step ends the wait early."""
        step.wake = asyncio.Event()
        waiters = [
            asyncio.ensure_future(self._stop.stopped.wait()),
            asyncio.ensure_future(step.wake.wait()),
        ]
        try:
            await asyncio.wait(waiters, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            step.wake = None
