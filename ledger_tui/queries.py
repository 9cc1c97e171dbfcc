"""What each dashboard view reads: one query object per view, each owning its cursor (no Textual).

Only the poll thread runs a query and touches its cursor. The UI thread changes what a query
asks for with `ask()` and wants its cursor dropped with `restart()`: both are requests the poll
thread picks up on its next run, so no field is written from two threads.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Generic, TypeVar

from engine.errors import UserError
from engine.ledger.location import recorded_log_path
from engine.ledger.reader import LedgerReader
from engine.ledger.records import (
    Attempt,
    Event,
    Output,
    RunDetail,
    RunLinks,
    RunSummary,
    StepState,
)
from engine.states import EventType
from ledger_tui.format import owner_gone_note, waiting_note
from ledger_tui.history import PAGE, HistoryPage, count_matching, read_head, read_typical
from ledger_tui.log_status import LogChoice, pick_attempt
from ledger_tui.logtail import LogChunk, LogTail
from ledger_tui.step_rows import default_step

Params = TypeVar("Params")
Result = TypeVar("Result")
Clock = Callable[[], float]

RUN_EVENTS_FIRST = 200
RUN_EVENTS_PER_POLL = 500
EVENTS_FIRST = 200
EVENTS_PER_POLL = 1000
NO_CHOICE = LogChoice()
OWNER_CHECK_SEC = 1.0  # how often the run detail asks whether an active run's engine still lives


class Query(Generic[Params, Result]):
    """A read the poll thread repeats whenever the ledger changed or the UI asked for it."""

    def __init__(self, params: Params) -> None:
        self._params = params  # replaced whole by the UI thread, read by the poll thread
        self._stale = threading.Event()
        self._stale.set()
        self._restart = threading.Event()
        self.fetched_version: int | None = None  # poll thread only
        self.ledger_changed = True  # poll thread only: whether this run needs SQL

    @property
    def params(self) -> Params:
        return self._params

    # -- the UI thread's side -------------------------------------------------------------------

    def ask(self, params: Params, *, refresh: bool = True) -> None:
        """Read with `params` from the next poll on (at once unless `refresh` is False)."""
        self._params = params
        if refresh:
            self._stale.set()

    def refresh(self) -> None:
        """Read again on the next poll even if the ledger did not change."""
        self._stale.set()

    def restart(self) -> None:
        """Drop the cursor and read everything again (after a theme change)."""
        self._restart.set()
        self._stale.set()

    # -- the poll thread's side -----------------------------------------------------------------

    def wants(self, version: int) -> bool:
        """Tell whether the next poll should run this query."""
        return self._stale.is_set() or version != self.fetched_version

    def run(self, reader: LedgerReader, version: int) -> Result:
        """Read for ledger `version` (poll thread)."""
        self.ledger_changed = self._stale.is_set() or version != self.fetched_version
        self._stale.clear()  # before reading the params: a later ask() sets it again
        self.fetched_version = version
        if self._restart.is_set():
            self._restart.clear()
            self.reset()
        return self.read(reader, self._params)

    def failed(self) -> None:
        """The last run raised: run again on the next poll."""
        self.fetched_version = None

    def reset(self) -> None:
        """Forget the cursor (poll thread; extend where there is one)."""

    def read(self, reader: LedgerReader, params: Params) -> Result:
        raise NotImplementedError


# -- view 1: runs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunsAsk:
    filter_text: str = ""
    down_to: RunSummary | None = None  # the first run of the older pages already shown


@dataclass(frozen=True)
class RunsPage:
    active: tuple[RunSummary, ...]
    history: HistoryPage
    typical_ms: dict[str, float | None]
    filter_text: str
    total: int | None = None  # the runs matching the filter; None when only a scan could tell
    gone: frozenset[str] = frozenset()  # active runs whose engine is provably gone (not marked)

    @property
    def live(self) -> bool:
        return any(not run.status.is_final for run in (*self.active, *self.history.runs))


class RunsQuery(Query[RunsAsk, RunsPage]):
    """The active runs and the newest page of history (more pages: ledger_tui.history)."""

    def __init__(self) -> None:
        super().__init__(RunsAsk())
        self._fetched: RunsPage | None = None
        self._owners_checked = 0.0  # time.monotonic() of the last look
        self._watching = False  # whether an active run's engine runs here, alive at that look

    def wants(self, version: int) -> bool:
        return self._owner_check_due() or super().wants(version)

    def _owner_check_due(self) -> bool:
        """A killed engine leaves its run `running` in a quiet ledger: look every second."""
        if self._fetched is None or not self._watching:
            return False
        return time.monotonic() - self._owners_checked >= OWNER_CHECK_SEC

    def reset(self) -> None:
        self._fetched = None

    def read(self, reader: LedgerReader, params: RunsAsk) -> RunsPage:
        page = self._fetched
        if page is None or self.ledger_changed:
            text = params.filter_text
            with reader.snapshot():
                active = [] if text else reader.active_runs()
                history = read_head(reader, text, limit=PAGE + len(active), down_to=params.down_to)
                live = (*active, *history.runs)
                plans = {run.plan_name for run in live if not run.status.is_final}
                typical = read_typical(reader, plans)
                total = count_matching(reader, text)
            page = RunsPage(tuple(active), history, typical, text, total)
        gone: frozenset[str] = frozenset()
        self._watching = False
        if page.live:
            owners = reader.active_owners()
            gone = frozenset(run_id for run_id, owner in owners.items() if owner.is_gone())
            # Only an engine on this host can be found gone, and one found gone stays gone.
            here = socket.gethostname()
            self._watching = any(o.host == here and r not in gone for r, o in owners.items())
        self._owners_checked = time.monotonic()
        self._fetched = replace(page, gone=gone)
        return self._fetched


# -- view 2: one run ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunPayload:
    detail: RunDetail | None
    steps: tuple[StepState, ...]
    events: tuple[Event, ...]
    outputs: tuple[Output, ...]
    step_id: str | None
    attempts: tuple[Attempt, ...]  # of the whole run, in start order
    log: LogChunk

    last_attempts: dict[str, Attempt]  # the latest attempt of each step
    owner_gone: str | None = None  # fmt.owner_gone_note, while the run is active
    choice: LogChoice = NO_CHOICE  # what the log was read for: the UI drops an outdated one
    shown: Attempt | None = None  # the attempt whose log `log` holds
    waiting: str | None = None  # fmt.waiting_note: the group or pools it waits for, and for whom
    links: RunLinks | None = None  # its parent plan step and the child runs of its plan steps

    def last_attempt(self, step_id: str | None) -> Attempt | None:
        return None if step_id is None else self.last_attempts.get(step_id)


class RunQuery(Query[LogChoice, RunPayload]):
    """One run, its new events, and the new lines of the chosen attempt's log (params: that
    choice)."""

    def __init__(self, run_id: str, ledger_path: Path) -> None:
        super().__init__(LogChoice())
        self.run_id = run_id
        self._ledger_path = ledger_path
        self._events_after: int | None = None
        self._log = LogTail()
        self._log_live = False
        self._fetched: RunPayload | None = None  # the last rows read
        self._step: str | None = None  # the step shown: the one asked for, else the first default
        self._serial = 0  # the serial of the choice the log tail follows
        self._owner_checked = 0.0  # time.monotonic() of the last look

    def wants(self, version: int) -> bool:
        return self._log_live or self._owner_check_due() or super().wants(version)

    def _owner_check_due(self) -> bool:
        """An active run's engine can die without a word in the ledger: look every few seconds."""
        rows = self._fetched
        if rows is None or rows.detail is None or rows.detail.status.is_final:
            return False
        return time.monotonic() - self._owner_checked >= OWNER_CHECK_SEC

    def reset(self) -> None:
        self._events_after = None
        self._fetched = None

    def read(self, reader: LedgerReader, params: LogChoice) -> RunPayload:
        if params.serial != self._serial:
            self._serial = params.serial
            self._log = LogTail()  # the first result for a new choice replaces the pane
        rows = self._fetched
        chosen = params.step_id or self._step
        if rows is None or self.ledger_changed or rows.step_id != chosen:
            rows = self._read_rows(reader, chosen)
            self._step = rows.step_id
        else:
            rows = replace(rows, events=())  # only the log can have grown; events were shown
            if self._owner_check_due() and rows.detail is not None:
                rows = replace(rows, owner_gone=owner_gone_note(rows.detail))
                self._owner_checked = time.monotonic()
        shown = pick_attempt(rows.attempts, rows.step_id, params.attempt)
        path = recorded_log_path(shown.log_path if shown else None, self._ledger_path)
        chunk = self._log.read(path)
        self._log_live = shown is not None and shown.finished_at is None
        if not self._log_live and not chunk.missing:
            tail = self._log.flush_partial()
            if tail:
                chunk = LogChunk(chunk.path, chunk.lines + tail, chunk.reset, chunk.skipped_bytes)
        return replace(rows, log=chunk, choice=params, shown=shown)

    def _read_rows(self, reader: LedgerReader, chosen_step: str | None) -> RunPayload:
        """Read the run from the ledger (skipped when only its log grew)."""
        with reader.snapshot():
            detail = reader.get_run(self.run_id)
            steps = tuple(reader.run_steps(self.run_id))
            if self._events_after is None:
                events = reader.events(run_id=self.run_id, limit=RUN_EVENTS_FIRST)
            else:
                events = reader.events(
                    run_id=self.run_id, after_id=self._events_after, limit=RUN_EVENTS_PER_POLL
                )
            outputs = tuple(reader.outputs(self.run_id))
            attempts = tuple(reader.attempts(self.run_id))
            waiting = waiting_note(reader.leases(self.run_id))
            links = reader.run_links(self.run_id)
        if events:
            self._events_after = events[-1].id
        step_id = chosen_step or default_step(steps)
        last_attempts = {attempt.step_id: attempt for attempt in attempts}
        owner_gone = None if detail is None else owner_gone_note(detail)
        self._owner_checked = time.monotonic()
        self._fetched = RunPayload(
            detail, steps, tuple(events), outputs, step_id, attempts, LogChunk(None, (), False),
            last_attempts, owner_gone, waiting=waiting, links=links,
        )  # fmt: skip
        return self._fetched


# -- view 3: events -------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventFilter:
    """`run:ID step:NAME type:PREFIX`; a bare word is a run id prefix or an event type prefix."""

    run: str | None = None
    step: str | None = None
    type_prefix: str | None = None

    @classmethod
    def parse(cls, text: str) -> EventFilter:
        values: dict[str, str] = {}
        for word in text.split():
            key, sep, value = word.partition(":")
            if sep and key in ("run", "step", "type") and value:
                values[key] = value
            elif any(t.startswith(word) for t in EventType):
                values["type"] = word
            else:
                values["run"] = word
        return cls(values.get("run"), values.get("step"), values.get("type"))

    def types(self) -> list[str] | None:
        if self.type_prefix is None:
            return None
        return [str(t) for t in EventType if t.startswith(self.type_prefix)] or [self.type_prefix]


@dataclass(frozen=True)
class EventsBatch:
    events: tuple[Event, ...]
    reset: bool
    filter_text: str
    problem: str | None = None


class EventsQuery(Query[str, EventsBatch]):
    """The events committed since the last run, of all runs (params: the filter text)."""

    def __init__(self) -> None:
        super().__init__("")
        self._fetched_filter: str | None = None
        self._after: int | None = None

    def reset(self) -> None:
        self._fetched_filter = None

    def read(self, reader: LedgerReader, params: str) -> EventsBatch:
        text = params
        reset = text != self._fetched_filter
        if reset:
            self._fetched_filter, self._after = text, None
        wanted = EventFilter.parse(text)
        run_id = None
        if wanted.run is not None:
            try:
                run_id = reader.resolve_run_id(wanted.run)
            except UserError as error:
                return EventsBatch((), reset, text, error.message)
        step = wanted.step if run_id is not None else None
        if self._after is None:
            events = reader.events(
                run_id=run_id, step_id=step, types=wanted.types(), limit=EVENTS_FIRST
            )
        else:
            events = reader.events(
                run_id=run_id,
                step_id=step,
                types=wanted.types(),
                after_id=self._after,
                limit=EVENTS_PER_POLL,
            )
        if events:
            self._after = events[-1].id
        elif self._after is None:
            self._after = 0
        if wanted.step is not None and run_id is None:
            # Step ids are per plan; across all runs the step filter applies to what arrives.
            events = [e for e in events if e.step_id == wanted.step]
        return EventsBatch(tuple(events), reset, text)


AnyQuery = Query[Any, Any]
