"""One `engine run`, end to end: checks before anything starts, the ledger, signals, cancels.

Everything a user can get wrong (plan, environment, secrets) is checked before a run row exists, so
an invalid invocation leaves no trace in the ledger.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from engine import signals
from engine.executors.base import Executor
from engine.executors.dask.options import remote_executor
from engine.executors.exits import choose_exit_watch
from engine.executors.local import LocalExecutor
from engine.ledger.ids import new_run_id
from engine.ledger.location import run_logs_dir
from engine.ledger.owner import Owner
from engine.ledger.scratch import create_run_scratch
from engine.ledger.times import to_iso
from engine.ledger.writer import LedgerWriter
from engine.plan.spec import LoadedPlan
from engine.progress import Reporter
from engine.run.environment import EnvironmentBuilder, check_required_env, resolve_secrets
from engine.run.extend import poll_extend_requests
from engine.run.recorder import Listener, Recorder
from engine.run.scheduler import Scheduler
from engine.run.secret_checks import check_secret_values
from engine.run.slots import concurrency_limit
from engine.run.state import RunSettings
from engine.run.stopping import RunTimeout, StopCause, Stopper
from engine.states import EventType, ExitCode, RunStatus

CANCEL_POLL_SEC = 0.25


@dataclass(frozen=True)
class RunRequest:
    loaded: LoadedPlan
    ledger_path: Path
    max_concurrency: int | None = None
    env_file: dict[str, str] = field(default_factory=dict)
    secrets_file: dict[str, str] = field(default_factory=dict)
    resumed_from: str | None = None
    reused: dict[str, dict[str, str]] = field(default_factory=dict)  # step id -> its outputs
    rerun_reasons: dict[str, str] = field(default_factory=dict)  # step id -> why it runs again
    listeners: tuple[Listener, ...] = ()  # told every event, after the display
    deadline: float | None = None  # a time.time() at which the run is cut, like its timeout
    on_ready: Callable[[str], None] | None = None  # the run id, once its row is committed
    wait_for_group: bool = True  # False: --no-wait, end at once when the group is taken
    force: frozenset[str] = frozenset()  # cached steps that run anyway ("*": all of them)
    adopt_orphans: bool = False  # only a process whose children are all steps (`engine run`)
    parent: tuple[str, str] | None = None  # (run id, step id) of the plan step running this plan
    executor: str | None = None  # --executor: over $ENGINE_EXECUTOR and globals.executor
    dask_address: str | None = None  # --dask-address: over $ENGINE_DASK_ADDRESS


@dataclass(frozen=True)
class RunResult:
    run_id: str
    status: RunStatus
    error: str | None
    exit_code: ExitCode
    stopped_by: str | None = None  # what cut the run short: a StopCause value


def prepare_environment(request: RunRequest) -> tuple[dict[str, str], dict[str, str]]:
    """The caller's environment and the secrets; UserError (exit 2) before anything runs.

    Warnings about weak secret values go to stderr, ahead of any progress display.
    """
    caller = dict(os.environ)
    check_required_env(request.loaded.plan, caller)
    secrets = resolve_secrets(request.loaded.plan, caller, request.secrets_file)
    for warning in check_secret_values(secrets):
        print(f"engine: warning: {warning}", file=sys.stderr, flush=True)
    return caller, secrets


async def execute(request: RunRequest, reporter: Reporter) -> RunResult:
    """Run the plan, recording everything in the ledger; signals cancel, a second one kills.

    A signal before the run is created raises `signals.Interrupted`: no run, nothing ran.
    """
    if _on_main_thread():  # signals reach the main thread only; another leaves them alone
        signals.hold()
    try:
        # A missing extra or an unreachable scheduler is a usage error, before any row exists.
        async with remote_executor(request) as remote:
            return await _execute(request, reporter, remote)
    except BaseException:
        reporter.close()  # a live display gives the terminal back even when the run broke off
        raise


async def _execute(request: RunRequest, reporter: Reporter, remote: Executor | None) -> RunResult:
    loaded = request.loaded
    plan = loaded.plan
    caller, secrets = prepare_environment(request)
    exit_watch = choose_exit_watch()  # a bad $ENGINE_EXIT_WATCH is a usage error, before any row
    writer = await LedgerWriter.open(request.ledger_path)
    # Masked where step text enters (log bytes, outputs, messages quoting them), never in what
    # the engine makes: ids, paths, keys and statuses may contain a secret's value by chance.
    secret_values = tuple(secrets.values())
    run_id = new_run_id()
    started = time.time()
    try:
        outputs_dir = create_run_scratch(request.ledger_path, run_id)  # steps write secrets there
    except BaseException:
        await writer.close()
        raise
    try:
        # Runs left `running` by a dead engine are marked crashed before this one starts. Recovery
        # (its imports, a reader, a thread) costs ~10 ms, so it is only called when it may find one.
        if await writer.has_active_runs():
            from engine.ledger.recovery import reconcile_path

            await asyncio.to_thread(reconcile_path, request.ledger_path)
        on_main = _on_main_thread()
        if on_main and (early := signals.arrived()):
            raise signals.Interrupted(early[0])
        # Every transition goes through the recorder, which hands the display exactly what the
        # ledger gets: the display starts before the run's first event.
        reporter.start(run_id, plan.name, len(plan.steps))
        recorder = Recorder(writer, run_id, [reporter.emit, *request.listeners])
        # A plan given as a dict (the Python API) or read back from the ledger has no file.
        plan_path = None if loaded.source.startswith("<") else str(Path(loaded.source).resolve())
        recorder.run_created(
            plan_hash=loaded.hash, plan_name=plan.name, plan_version=plan.version,
            plan_json=loaded.canonical_json(), plan_path=plan_path,
            vars=loaded.vars, step_ids=[s.id for s in plan.steps],
            hook_ids=[s.id for group in plan.hooks.values() for s in group],
            owner=Owner.current(), resumed_from=request.resumed_from, created_at=started,
            parent=request.parent,
        )  # fmt: skip
        settings = RunSettings(
            run_id=run_id,
            max_concurrency=concurrency_limit(request.loaded, request.max_concurrency),
            logs_dir=run_logs_dir(request.ledger_path, run_id),
            outputs_dir=outputs_dir,
            mask_values=secret_values,
            reused=request.reused,
            resumed_from=request.resumed_from,
            force=request.force,
            ledger_path=request.ledger_path,
        )
        environment = EnvironmentBuilder(plan, caller, request.env_file, secrets)
        executor = remote or LocalExecutor(
            exit_watch=exit_watch, adopt_orphans=request.adopt_orphans
        )
        scheduler = Scheduler(
            loaded, settings, recorder=recorder, executor=executor, environment=environment,
            caller_env=caller,
        )  # fmt: skip
        # The run row must be on disk before any step can exist: after a kill -9, recovery finds
        # a run's processes through it (engine.processes.leftovers), attempt rows or not.
        await writer.flush()
        if request.on_ready is not None:
            request.on_ready(run_id)
        received: list[int] = []
        busy = False
        stop = Stopper(scheduler)
        timer = RunTimeout(stop, plan.globals.timeout_sec, request.deadline)
        with _signals_handled(stop, received) if on_main else nullcontext():
            poller = asyncio.ensure_future(_poll_cancel_requests(recorder, stop))
            extends = asyncio.ensure_future(
                poll_extend_requests(
                    recorder, lambda step: timer if step is None else scheduler.attempt(step)
                )
            )
            try:
                refusal = None
                if plan.concurrency_group is not None:
                    refusal, busy = await _enter_group(request, recorder, stop)
                error: str | None = refusal
                if refusal is not None:
                    scheduler.skip_all(refusal)
                    deadline = stop.cause == StopCause.DEADLINE
                    status = RunStatus.FAILED if deadline else RunStatus.CANCELED
                else:
                    recorder.run_started(plan_name=plan.name, steps_total=len(plan.steps))
                    for step_id, why in request.rerun_reasons.items():
                        recorder.event(
                            EventType.STEP_RERUN, step_id, None,
                            {"reason": why, "resumed_from": request.resumed_from},
                        )  # fmt: skip
                    with timer:
                        status, error = await scheduler.run()
            finally:
                poller.cancel()
                extends.cancel()
                executor.close()
        exit_code = ExitCode.BUSY if busy else _exit_code(status, received)
        if request.parent is not None and plan.outputs and status is RunStatus.SUCCEEDED:
            from engine.run.child_runs import hand_outputs_to_parent

            hand_outputs_to_parent(plan, scheduler.outputs)
        outcome = recorder.run_finished(
            status=status, error=error, exit_code=int(exit_code), started=started
        )
        await writer.flush()
        recorder.publish(outcome)  # once committed: the last `--json` line is in the ledger
    finally:
        shutil.rmtree(outputs_dir, ignore_errors=True)
        await writer.close()
    reporter.finish(status, error, time.time() - started, int(exit_code))
    cause = stop.cause if status is not RunStatus.SUCCEEDED else None
    return RunResult(run_id, status, error, exit_code, cause)


def _on_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


async def _enter_group(
    request: RunRequest, recorder: Recorder, stop: Stopper
) -> tuple[str | None, bool]:
    """Hold the plan's concurrency group until the run ends (its end releases it).

    Returns why the run may not start, if so, and whether that is because the group was busy and
    the caller would not wait. The run timeout starts only once the group is held; a deadline
    counts while it waits.
    """
    from engine.run.leases import GROUP, LeaseBroker, busy_message, group_waiting

    plan = request.loaded.plan
    group = plan.concurrency_group
    assert group is not None
    scheduler = stop.scheduler
    broker = LeaseBroker(recorder)
    cancel_as = f"run {recorder.run_id} (cancel_in_progress)" if plan.cancel_in_progress else None
    try:
        lease, holders = await broker.acquire(
            kind=GROUP, name=group, capacity=1, step_id=None,
            on_wait=group_waiting(recorder, group),
            give_up=lambda: _deadline_passed(request, stop) or scheduler.stop_reason is not None,
            wait=request.wait_for_group, cancel_others_as=cancel_as,
        )  # fmt: skip
    finally:
        broker.close()
    if lease is not None:
        return None, False
    if scheduler.stop_reason is not None:
        return f'{scheduler.stop_reason} while waiting for concurrency group "{group}"', False
    return busy_message(group, holders), True


def _deadline_passed(request: RunRequest, stop: Stopper) -> bool:
    """Whether the caller's deadline came while the run waited for its group (and stop it so)."""
    if request.deadline is None or time.time() < request.deadline:
        return False
    reason = f"deadline {to_iso(request.deadline)} reached"
    stop.stop(StopCause.DEADLINE, reason, RunStatus.FAILED)
    return True


def _exit_code(status: RunStatus, received: list[int]) -> ExitCode:
    if status is RunStatus.SUCCEEDED:
        return ExitCode.OK
    if status is RunStatus.CANCELED and received:
        return ExitCode(signals.exit_code(received[0]))
    return ExitCode.FAILED


class _signals_handled:
    """SIGINT/SIGTERM/SIGHUP: the first cancels the run gracefully, a second kills it at once.

    Later ones change nothing; signals that arrived while the run was set up count, in order.
    """

    def __init__(self, stop: Stopper, received: list[int]) -> None:
        self._stop = stop
        self._received = received
        loop = asyncio.get_running_loop()
        self._routing = signals.routed_to(self._handle, loop.call_soon_threadsafe)

    def _handle(self, signum: int) -> None:
        self._received.append(signum)
        if len(self._received) == 1:
            name = signal.Signals(signum).name
            self._stop.stop(StopCause.CANCELED, f"canceled by {name}", RunStatus.CANCELED)
        elif len(self._received) == 2:
            self._stop.scheduler.kill()

    def __enter__(self) -> None:
        self._routing.__enter__()

    def __exit__(self, *_: object) -> None:
        self._routing.__exit__()


async def _poll_cancel_requests(recorder: Recorder, stop: Stopper) -> None:
    """Act on `engine cancel` requests (from any terminal or the dashboard) within a second."""
    while True:
        await asyncio.sleep(CANCEL_POLL_SEC)
        for request in await recorder.writer.pending_cancel_requests(recorder.run_id):
            recorder.cancel_seen(request)
            if request.step_id is None:
                by = request.requested_by or "request"
                stop.stop(StopCause.CANCELED, f"canceled by {by}", RunStatus.CANCELED)
            else:
                stop.scheduler.cancel_step(request.step_id)
