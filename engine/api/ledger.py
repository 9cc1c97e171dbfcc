"""`engine.Ledger`: the ledger's read API for Python callers, with run-id prefixes as in the CLI,
plus the two writes a caller may ask for (cancel, resume)."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from engine.errors import LedgerError, UnknownRun
from engine.states import RunStatus

if TYPE_CHECKING:
    from engine.api.options import Force
    from engine.api.result import RunResult
    from engine.ledger.reader import LedgerReader
    from engine.ledger.records import Attempt, Event, RunDetail, RunSummary, Stats, StepState

FOLLOW_POLL_SEC = 0.2
_PAGE = 500
_DAY = timedelta(days=1)

When = datetime | timedelta | float


def _timestamp(when: When) -> float:
    """An aware datetime, a float from time.time(), or a timedelta back from now."""
    if isinstance(when, timedelta):
        return time.time() - when.total_seconds()
    if isinstance(when, datetime):
        return when.timestamp()
    return float(when)


class Ledger:
    """One ledger, opened read-only on first use; found like the CLI's when `path` is None.

    Runs whose engine died are marked crashed when it is opened, as every `engine` command does.
    Safe to share between threads.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        from engine.ledger.location import resolve_ledger_path

        self.path: Path = resolve_ledger_path(
            None if path is None else os.fspath(path), create=False
        )
        self._reader: LedgerReader | None = None
        self._opening = threading.Lock()  # two threads' first questions open one reader

    def __repr__(self) -> str:
        return f"Ledger({str(self.path)!r})"

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        with self._opening:
            if self._reader is not None:
                self._reader.close()
                self._reader = None

    @property
    def reader(self) -> LedgerReader:
        """The read API underneath (engine.ledger.reader), for questions not asked here."""
        with self._opening:
            if self._reader is None:
                from engine.ledger.reader import LedgerReader
                from engine.ledger.recovery import reconcile

                reader = LedgerReader.open(self.path)
                with contextlib.suppress(LedgerError):  # one this process may not write is read
                    reconcile(reader)
                self._reader = reader
            return self._reader

    def resolve(self, run_id: str) -> str:
        """The full id of the one run starting with `run_id`; UnknownRun for none or several."""
        return self.reader.resolve_run_id(run_id)

    # -- runs ----------------------------------------------------------------------------------

    def runs(
        self,
        *,
        status: RunStatus | str | None = None,
        plan: str | None = None,
        since: When | None = None,
        limit: int = 50,
    ) -> list[RunSummary]:
        """Runs newest first, by status, plan name and creation time."""
        return self.reader.list_runs(
            status=None if status is None else RunStatus(status), plan=plan,
            since=None if since is None else _timestamp(since), limit=limit,
        )  # fmt: skip

    def run(self, run_id: str) -> RunDetail:
        """One run with its plan, vars and owner; UnknownRun if there is none."""
        full_id = self.resolve(run_id)
        detail = self.reader.get_run(full_id)
        if detail is None:  # removed by `engine gc` since it was resolved
            raise UnknownRun(f"There is no run {full_id!r} in the ledger.")
        return detail

    def steps(self, run_id: str) -> list[StepState]:
        """A run's steps in plan order, hooks last."""
        return self.reader.run_steps(self.resolve(run_id))

    def attempts(self, run_id: str, step: str | None = None) -> list[Attempt]:
        """A run's attempts (or one step's) in the order they started."""
        return self.reader.attempts(self.resolve(run_id), step)

    def outputs(self, run_id: str) -> dict[str, dict[str, str]]:
        """A run's outputs: step id -> name -> value (masked, as stored)."""
        outputs: dict[str, dict[str, str]] = {}
        for output in self.reader.outputs(self.resolve(run_id)):
            outputs.setdefault(output.step_id, {})[output.name] = output.value
        return outputs

    def events(
        self, run_id: str | None = None, *, after: int | None = None, follow: bool = False
    ) -> Iterator[Event]:
        """Events in commit order after the event id `after` (all, without it); of one run or
        of every run. With `follow`, keep waiting for new ones: until the run is over when one
        is named, for ever otherwise."""
        full_id = None if run_id is None else self.resolve(run_id)
        last = 0 if after is None else after
        while True:
            page = self.reader.events(run_id=full_id, after_id=last, limit=_PAGE)
            yield from page
            if page:
                last = page[-1].id
            if len(page) == _PAGE:
                continue
            if not follow:
                return
            if full_id is not None and self._over(full_id):
                tail = self.reader.events(run_id=full_id, after_id=last, limit=_PAGE)
                yield from tail  # what committed with its end
                if not tail:
                    return
                last = tail[-1].id
                continue
            time.sleep(FOLLOW_POLL_SEC)

    def _over(self, run_id: str) -> bool:
        detail = self.reader.get_run(run_id)
        return detail is None or detail.status.is_final

    def stats(self, since: When = _DAY) -> Stats:
        """Totals, success rate, durations, flakiest and slowest steps since `since` (a day)."""
        return self.reader.stats(_timestamp(since))

    # -- the documented short names --------------------------------------------------------------

    def get_run_status(self, run_id: str) -> RunStatus:
        """The run's status: pending, running, succeeded, partial, failed, canceled, crashed."""
        return self.run(run_id).status

    def get_run_steps(self, run_id: str) -> list[StepState]:
        return self.steps(run_id)

    def get_run_events(self, run_id: str) -> list[Event]:
        return list(self.events(run_id))

    # -- the writes a caller may ask for ---------------------------------------------------------

    def cancel(self, run_id: str, step: str | None = None) -> int:
        """Ask the engine running `run_id` to cancel it (or one step), as `engine cancel` does;
        the request id. EngineError (exit code 1) if the run is already over."""
        import getpass
        import socket

        from engine.ledger.control import request_cancel

        by = f"python ({getpass.getuser()}@{socket.gethostname()}, pid {os.getpid()})"
        return request_cancel(self.path, self.resolve(run_id), step, requested_by=by)

    def resume(
        self,
        run_id: str,
        *,
        plan: str | os.PathLike[str] | None = None,
        steps: tuple[str, ...] | list[str] = (),
        downstream: bool = False,
        vars: Mapping[str, object] | None = None,
        max_concurrency: int | None = None,
        env_file: str | os.PathLike[str] | None = None,
        secrets_file: str | os.PathLike[str] | None = None,
        deadline: datetime | None = None,
        force: Force = False,
    ) -> RunResult:
        """Run `run_id`'s plan again as `engine resume` does, reusing its succeeded steps (but
        `steps`, and with `downstream` what depends on them); the new run's result.

        With `plan` (an edited plan file, as `--plan`), a step is reused only if unchanged;
        `force` is run_plan's (cached steps that run without reading the cache).
        """
        import asyncio

        from engine.api.options import RunOptions, forced_steps, var_values
        from engine.api.runner import Watcher, run_loaded
        from engine.run.resume import load_edited, plan_resume

        full_id = self.resolve(run_id)
        overrides = var_values(vars)
        edited = None
        if plan is not None:
            edited = load_edited(self.reader, full_id, Path(plan), overrides)
        resume = plan_resume(
            self.reader, full_id, plan=edited, selected=tuple(steps), downstream=downstream,
            overrides=overrides,
        )  # fmt: skip
        watcher = Watcher(None)
        options = RunOptions(
            ledger=self.path, max_concurrency=max_concurrency, env_file=env_file,
            secrets_file=secrets_file, deadline=deadline, listeners=(watcher,),
            resumed_from=full_id, reused=resume.reused, rerun_reasons=resume.rerun_reasons,
            force=forced_steps(force, resume.loaded),
        )  # fmt: skip
        if deadline is not None:
            from engine.api.deadline import seconds_left

            seconds_left(deadline)
        return asyncio.run(run_loaded(resume.loaded, self.path, options, watcher))
