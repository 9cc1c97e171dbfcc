"""`start_plan`: a run in a background thread, and the `RunHandle` that waits for, cancels and
follows it from any other thread."""

from __future__ import annotations

import asyncio
import getpass
import os
import socket
import threading
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.api.options import Force, RunOptions
from engine.api.runner import EventCallback, Watcher, prepare, run_loaded
from engine.errors import UserError

if TYPE_CHECKING:
    from engine.api.result import RunResult
    from engine.plan.model import Plan
    from engine.run.recorder import RecordedEvent


class _Progress:
    """What the run's thread tells the handle: its events, that its row exists, how it ended."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.events: list[RecordedEvent] = []
        self.run_id: str | None = None
        self.result: RunResult | None = None
        self.error: BaseException | None = None
        self.over = False

    def event(self, event: RecordedEvent) -> None:
        with self.changed:
            self.events.append(event)
            self.changed.notify_all()

    def ready(self, run_id: str) -> None:
        with self.changed:
            self.run_id = run_id
            self.changed.notify_all()

    def end(self, result: RunResult | None, error: BaseException | None) -> None:
        with self.changed:
            self.result, self.error, self.over = result, error, True
            self.changed.notify_all()


class RunHandle:
    """A run started by `start_plan`: its id at once, then `wait`, `cancel` and `events`."""

    def __init__(
        self, run_id: str, ledger_path: Path, progress: _Progress, thread: threading.Thread
    ) -> None:
        self.run_id = run_id
        self.ledger_path = ledger_path
        self._progress = progress
        self._thread = thread

    def __repr__(self) -> str:
        return f"<RunHandle {self.run_id} {'done' if self.done() else 'running'}>"

    def done(self) -> bool:
        """True once the run is over and its result can be had without waiting."""
        return self._progress.over

    def wait(self, timeout: float | None = None) -> RunResult:
        """Block until the run is over and return its result; TimeoutError if `timeout` passes."""
        progress = self._progress
        with progress.changed:
            if not progress.changed.wait_for(lambda: progress.over, timeout):
                raise TimeoutError(f"run {self.run_id} is still going after {timeout:g}s")
        if progress.error is not None:
            raise progress.error
        assert progress.result is not None
        return progress.result

    def cancel(self, step: str | None = None) -> bool:
        """Ask the run (or one step) to cancel, as `engine cancel` does; the run acts within a
        second. False when the run (or the step) is already over; EngineError for a step the
        plan does not have."""
        from engine.ledger.control import request_cancel

        if self.done():
            return False
        by = f"python ({getpass.getuser()}@{socket.gethostname()}, pid {os.getpid()})"
        try:
            request_cancel(self.ledger_path, self.run_id, step, requested_by=by)
        except UserError as error:
            if error.code == "already_finished":  # it (or the step) finished meanwhile
                return False
            raise
        return True

    def events(self, timeout: float | None = None) -> Iterator[RecordedEvent]:
        """Every event of the run from its first, following it live until it is over.

        With `timeout`, TimeoutError when no new event comes for that long.
        """
        progress = self._progress
        seen = 0

        def news() -> bool:
            return len(progress.events) > seen or progress.over

        while True:
            with progress.changed:
                arrived = progress.changed.wait_for(news, timeout)
                if not arrived:
                    raise TimeoutError(f"run {self.run_id}: no event for {timeout:g}s")
                batch = progress.events[seen:]
                finished = progress.over
            seen += len(batch)
            yield from batch
            if finished and not batch:
                return


def start_plan(
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
) -> RunHandle:
    """Start `plan` in a background thread; return once its run row is in the ledger.

    Problems found before the run exists (the plan, the ledger, the environment) raise here.
    """
    progress = _Progress()
    watcher = Watcher(on_event)
    options = RunOptions(
        ledger=ledger, max_concurrency=max_concurrency, env_file=env_file,
        secrets_file=secrets_file, deadline=deadline, listeners=(watcher, progress.event),
        on_ready=progress.ready, wait_for_group=wait_for_group, force=force,
        executor=executor, dask_address=dask_address,
    )  # fmt: skip
    loaded, path = prepare(plan, vars=vars, options=options)

    def run() -> None:
        try:
            result = asyncio.run(run_loaded(loaded, path, options, watcher))
        except BaseException as error:  # handed to the caller by wait() or start_plan
            progress.end(None, error)
        else:
            progress.end(result, None)

    # Not a daemon: a program that ends while a run goes waits for it to record its end.
    thread = threading.Thread(target=run, name=f"engine run {loaded.plan.name}")
    thread.start()
    with progress.changed:
        progress.changed.wait_for(lambda: progress.run_id is not None or progress.over)
    if progress.run_id is None:
        thread.join()
        if progress.error is not None:
            raise progress.error
        assert progress.result is not None  # it ended before it was ready: the ledger failed
        return RunHandle(progress.result.run_id, path, progress, thread)
    return RunHandle(progress.run_id, path, progress, thread)
