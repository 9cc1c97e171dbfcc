"""What `engine run` shows while it works: a live display on a terminal, else one line per event.

The run's recorder calls `emit` with every event it records in the ledger; a reporter only formats.
rich is imported only for the live display, since it costs more to import than the rest of a short
run.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Collection
from typing import IO, TYPE_CHECKING, Protocol

from engine.ledger.json_shapes import event_json
from engine.states import EventType, RunStatus

if TYPE_CHECKING:
    from engine.run.recorder import RecordedEvent

# Plain lines are about steps: the run's own events have their start and summary lines instead.
_QUIET_IN_PLAIN = {EventType.STEP_READY, EventType.STEP_RERUN, EventType.CANCEL_REQUESTED}
TAIL_LINES = 10  # of a failed attempt's log, shown under the failure


class Reporter(Protocol):
    def start(self, run_id: str, plan_name: str, total: int) -> None: ...

    def emit(self, event: RecordedEvent) -> None:
        """Show one event the run recorded, as the ledger holds it."""

    def finish(
        self, status: RunStatus, error: str | None, elapsed: float, exit_code: int | None = None
    ) -> None: ...

    def close(self) -> None:
        """Stop showing progress without a summary: the run broke off (the ledger failed)."""


class JsonReporter:
    """One JSON object per line on stdout: an event, shaped as `engine events --json` prints it.

    Every event the run records is printed, as it is recorded and before it commits, so `id` is
    null; the last line is the run's `run_completed` or `run_canceled` event, printed once
    committed, which carries the outcome.
    """

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream or sys.stdout

    def start(self, run_id: str, plan_name: str, total: int) -> None:
        """Nothing to show: the run's first line is its run_created event."""

    def emit(self, event: RecordedEvent) -> None:
        record = event_json(
            id=None, run_id=event.run_id, step_id=event.step_id, attempt=event.attempt,
            type=event.type, ts=event.at, data=event.data,
        )  # fmt: skip
        self._stream.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._stream.flush()

    def finish(
        self, status: RunStatus, error: str | None, elapsed: float, exit_code: int | None = None
    ) -> None:
        """Nothing more to show: the outcome was the last event."""

    def close(self) -> None:
        """Nothing to undo: every line is complete when written."""


class PlainReporter:
    """One readable line per event, for logs and pipes; a failed step's last lines under it."""

    def __init__(self, stream: IO[str] | None = None, quiet: bool = False) -> None:
        self._stream = stream or sys.stdout
        self._quiet = quiet
        self._start = time.monotonic()
        self._run_id = ""
        self._logs = FailureLogs()
        self._held: dict[str, str] = {}  # step id -> its started line, until a process runs

    def start(self, run_id: str, plan_name: str, total: int) -> None:
        self._run_id = run_id
        self._start = time.monotonic()
        noun = "step" if total == 1 else "steps"
        self._line(f"run {run_id} started: {plan_name} ({total} {noun})")

    def emit(self, event: RecordedEvent) -> None:
        type, step_id, attempt, data = event.type, event.step_id, event.attempt, event.data or {}
        self._logs.note(type, step_id, attempt, data)
        if type is EventType.RUN_WAITING and not self._quiet:
            self._line(f"run waiting: {data.get('reason')}")
        if type is EventType.TIMEOUT_EXTENDED and not self._quiet:
            self._line(f"{step_id or 'run'}: timeout extended to {data.get('deadline')}")
            return
        if self._quiet or type in _QUIET_IN_PLAIN or step_id is None:
            return  # --quiet prints the summary line only
        text = str(type).removeprefix("step_")
        number = attempt if attempt is not None else attempt_number(type, attempt, data)
        if (number is not None and number > 1) or type is EventType.STEP_RETRY:
            text += f" (attempt {number})"
        reason = data.get("reason")
        if reason and type is not EventType.STEP_SUCCEEDED:
            # "canceled by SIGINT" reads as the whole line; "canceled: canceled by ..." would not.
            text = str(reason) if str(reason).startswith(text) else f"{text}: {reason}"
        if type is EventType.STEP_RETRY:
            text += f", next in {data.get('delay_sec')}s"
        if type is EventType.STEP_PLACED:
            text += _where(data)
        if type is EventType.STEP_STARTED and data.get("pid") is None:
            # Submitted to a cluster, not running yet: its process starts once a worker takes it,
            # so the line follows the placed one (or comes before whatever ends it first).
            self._held[step_id] = f"{step_id}: {text}"
            return
        held = self._held.pop(step_id, None)
        if held is not None and type is not EventType.STEP_PLACED:
            self._line(held)
        self._line(f"{step_id}: {text}")
        if held is not None and type is EventType.STEP_PLACED:
            self._line(held)
        if type is EventType.STEP_FAILED and step_id is not None:
            for line in self._logs.explain(self._run_id, step_id):
                self._line(line)

    def finish(
        self, status: RunStatus, error: str | None, elapsed: float, exit_code: int | None = None
    ) -> None:
        for held in self._held.values():
            self._line(held)
        self._held.clear()
        text = f"run {self._run_id} {status} in {elapsed:.2f}s"
        if error:
            text += f": {error}"
        self._line(text, always=True)

    def close(self) -> None:
        """Nothing to undo: every line is complete when written."""

    def _line(self, text: str, always: bool = False) -> None:
        if self._quiet and not always:
            return
        elapsed = time.monotonic() - self._start
        self._stream.write(f"[{elapsed:7.2f}s] {text}\n")
        self._stream.flush()


def _where(placed: dict[str, object]) -> str:
    """Where a cluster started an attempt, for its placed line: ` on HOST, worker ADDRESS`."""
    host, worker = placed.get("host"), placed.get("worker")
    return (f" on {host}" if host else "") + (f", worker {worker}" if worker else "")


def attempt_number(type: EventType, attempt: int | None, data: dict[str, object]) -> int | None:
    """The attempt an event is about: its own, else the one a step outcome or retry names."""
    if attempt is not None:
        return attempt
    number = data.get("attempt" if type is EventType.STEP_RETRY else "attempts")
    return number if isinstance(number, int) else None


class FailureLogs:
    """Where each step's latest attempt logs, so a failure can show its last lines."""

    def __init__(self, lines: int = TAIL_LINES) -> None:
        self._lines = lines
        self._latest: dict[str, str] = {}  # step id -> its latest attempt's log file

    def note(
        self, type: EventType, step_id: str | None, attempt: int | None, data: dict[str, object]
    ) -> None:
        if type is EventType.STEP_STARTED and step_id is not None:
            log_path = data.get("log_path")
            if isinstance(log_path, str):
                self._latest[step_id] = log_path

    def explain(self, run_id: str, step_id: str) -> list[str]:
        """The failed attempt's last lines, indented, and the command that prints all of them."""
        log_path = self._latest.get(step_id)
        if log_path is None:
            return []  # it failed before any attempt started (a condition, a missing output)
        tail = last_lines(log_path, self._lines)
        shown = [f"  | {line}" for line in tail]
        if not tail:
            return shown
        # The failed attempt is the step's latest, which `engine logs` shows without --attempt.
        return [*shown, f"  full log: engine logs {run_id} {step_id}"]


def last_lines(path: str, count: int, max_bytes: int = 8192) -> list[str]:
    """The last `count` lines of a log file (already masked by the executor), each cut to 300."""
    try:
        with open(path, "rb") as log:
            log.seek(0, os.SEEK_END)
            size = log.tell()
            log.seek(max(0, size - max_bytes))
            chunk = log.read()
    except OSError:
        return []
    lines = chunk.decode("utf-8", errors="replace").splitlines()
    if size > max_bytes and lines:
        lines = lines[1:]  # the first line of the chunk may be cut
    kept = [line.rstrip() for line in lines if line.strip()][-count:]
    return [line if len(line) <= 300 else line[:297] + "..." for line in kept]


def make_reporter(
    *,
    as_json: bool,
    quiet: bool,
    stream: IO[str] | None = None,
    hook_ids: Collection[str] = (),
    expected_ms: Callable[[], int | None] | None = None,
) -> Reporter:
    """JSON lines, plain lines off a terminal, else the live display.

    `expected_ms` (the run's length from history) is asked only for the live display, the one
    place that shows an ETA, since it costs a read of the ledger.
    """
    out = stream or sys.stdout
    if as_json:
        return JsonReporter(out)
    if quiet or not out.isatty():
        return PlainReporter(out, quiet=quiet)
    from engine.live import LiveReporter

    return LiveReporter(hook_ids=hook_ids, expected_ms=expected_ms() if expected_ms else None)
