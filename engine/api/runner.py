"""Running a plan from Python: `run_plan` (any thread), `arun_plan` (a coroutine), and the CLI's
`engine run`, all through `execute`.

Signals are handled only on the main thread, where the caller's Ctrl-C cancels the run; a run in
another thread leaves them alone (Python allows a handler nowhere else).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine import signals
from engine.api.options import Force, RunOptions, forced_steps, load, var_values
from engine.errors import LedgerError

if TYPE_CHECKING:
    from engine.api.result import RunResult
    from engine.plan.model import Plan
    from engine.plan.spec import LoadedPlan
    from engine.progress import Reporter
    from engine.run.recorder import RecordedEvent
    from engine.run.session import RunResult as Outcome
    from engine.states import RunStatus

EventCallback = Callable[["RecordedEvent"], None]


class SilentReporter:
    """The API's display: none. Callers watch through `on_event` or the ledger."""

    def start(self, run_id: str, plan_name: str, total: int) -> None:
        """Nothing to show."""

    def emit(self, event: RecordedEvent) -> None:
        """Nothing to show."""

    def finish(
        self, status: RunStatus, error: str | None, elapsed: float, exit_code: int | None = None
    ) -> None:
        """Nothing to show."""

    def close(self) -> None:
        """Nothing to undo."""


async def execute(
    loaded: LoadedPlan, ledger_path: Path, options: RunOptions, reporter: Reporter
) -> Outcome:
    """Run a loaded plan to its end: the one way every run starts, the CLI's included."""
    from engine.run.session import execute as run_session

    return await run_session(options.to_request(loaded, ledger_path), reporter)


class Watcher:
    """Learns the run id from the first event and hands every event to the caller's callback.

    A callback that raises is dropped with a warning: the run goes on and its record stays whole.
    """

    def __init__(self, callback: EventCallback | None) -> None:
        self.run_id: str | None = None
        self._callback = callback

    def __call__(self, event: RecordedEvent) -> None:
        self.run_id = event.run_id
        if self._callback is None:
            return
        try:
            self._callback(event)
        except Exception as error:  # the caller's bug must not break the run's record
            import warnings

            self._callback = None
            warnings.warn(
                f"on_event raised {error!r}; it is not called again for this run",
                RuntimeWarning,
                stacklevel=1,
            )


def prepare(
    plan: object,
    *,
    vars: Mapping[str, object] | None,
    options: RunOptions,
) -> tuple[LoadedPlan, Path]:
    """The checks before any run row exists: the ledger, the plan, the deadline (they raise)."""
    path = options.ledger_path()
    loaded = load(plan, var_values(vars), path)
    forced_steps(options.force, loaded)  # a step the plan does not have raises before any run
    if options.deadline is not None:
        from engine.api.deadline import check_window

        for warning in check_window(loaded, path, options.deadline, options.max_concurrency):
            import warnings

            from engine.api.deadline import DeadlineWarning

            warnings.warn(warning, DeadlineWarning, stacklevel=3)
    return loaded, path


async def arun_plan(
    plan: str | os.PathLike[str] | Mapping[str, Any] | Plan,
    *,
    vars: Mapping[str, object] | None = None,
    ledger: str | os.PathLike[str] | None = None,
    max_concurrency: int | None = None,
    env_file: str | os.PathLike[str] | None = None,
    secrets_file: str | os.PathLike[str] | None = None,
    deadline: datetime | None = None,
    on_event: EventCallback | None = None,
    wait_for_group: bool = True,
    force: Force = False,
    executor: str | None = None,
    dask_address: str | None = None,
) -> RunResult:
    """Run `plan` to its end in the running event loop; several may run in one loop at once."""
    watcher = Watcher(on_event)
    options = RunOptions(
        ledger=ledger, max_concurrency=max_concurrency, env_file=env_file,
        secrets_file=secrets_file, deadline=deadline, listeners=(watcher,),
        wait_for_group=wait_for_group, force=force, executor=executor, dask_address=dask_address,
    )  # fmt: skip
    loaded, path = prepare(plan, vars=vars, options=options)
    return await run_loaded(loaded, path, options, watcher)


async def run_loaded(
    loaded: LoadedPlan, path: Path, options: RunOptions, watcher: Watcher
) -> RunResult:
    """Run a prepared plan; a ledger failing once the run exists is its result, not an exception.

    On the main thread the stop signals are the run's from before its row exists, so a Ctrl-C
    at any moment either comes before the run (KeyboardInterrupt, no run) or cancels it.
    """
    from engine.api.result import ledger_failure, read_result

    borrowed = threading.current_thread() is threading.main_thread() and signals.borrow()
    try:
        outcome = await execute(loaded, path, options, SilentReporter())
    except LedgerError as error:
        if watcher.run_id is None:
            raise  # no run exists: the ledger could not be used at all
        return ledger_failure(watcher.run_id, error.message)
    except signals.Interrupted:
        raise KeyboardInterrupt from None  # before the run existed: nothing ran
    finally:
        if borrowed:
            signals.give_back()
    try:
        return await asyncio.to_thread(
            read_result, path, outcome.run_id, int(outcome.exit_code), outcome.stopped_by
        )
    except LedgerError as error:
        return ledger_failure(outcome.run_id, error.message)


def run_plan(
    plan: str | os.PathLike[str] | Mapping[str, Any] | Plan,
    *,
    vars: Mapping[str, object] | None = None,
    ledger: str | os.PathLike[str] | None = None,
    max_concurrency: int | None = None,
    env_file: str | os.PathLike[str] | None = None,
    secrets_file: str | os.PathLike[str] | None = None,
    deadline: datetime | None = None,
    on_event: EventCallback | None = None,
    wait_for_group: bool = True,
    force: Force = False,
    executor: str | None = None,
    dask_address: str | None = None,
) -> RunResult:
    """Run `plan` to its end and return what happened; callable from any thread without a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RuntimeError("run_plan() cannot block a running event loop: await arun_plan()")
    watcher = Watcher(on_event)
    options = RunOptions(
        ledger=ledger, max_concurrency=max_concurrency, env_file=env_file,
        secrets_file=secrets_file, deadline=deadline, listeners=(watcher,),
        wait_for_group=wait_for_group, force=force, executor=executor, dask_address=dask_address,
    )  # fmt: skip
    loaded, path = prepare(plan, vars=vars, options=options)
    return asyncio.run(run_loaded(loaded, path, options, watcher))


def run_for_cli(loaded: LoadedPlan, path: Path, options: RunOptions, reporter: Reporter) -> int:
    """`engine run` and `engine resume`: the same run, shown by `reporter`; the exit code."""
    outcome = asyncio.run(execute(loaded, path, options, reporter))
    return int(outcome.exit_code)
