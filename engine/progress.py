"""What `engine run` shows while it works: a live display on a terminal, else one line per event.

The scheduler calls `emit` for every event it records in the ledger; a reporter only formats. rich
is imported only for the live display, since it costs more to import than the rest of a short run.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from typing import IO, Any, Protocol

from engine.masking import StreamMasker
from engine.states import EventType, RunStatus

_QUIET_IN_PLAIN = {EventType.STEP_READY}


class Reporter(Protocol):
    def start(self, run_id: str, plan_name: str, total: int) -> None: ...

    def emit(
        self, type: EventType, step_id: str | None, attempt: int | None, data: dict[str, object]
    ) -> None: ...

    def finish(self, status: RunStatus, error: str | None, elapsed: float) -> None: ...

    def close(self) -> None:
        """Stop showing progress without a summary: the run broke off (the ledger failed)."""


class JsonReporter:
    """One JSON object per line on stdout, shaped like a ledger event."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream or sys.stdout
        self._run_id = ""

    def start(self, run_id: str, plan_name: str, total: int) -> None:
        self._run_id = run_id
        self._write({"type": "run_started", "plan": plan_name, "steps_total": total})

    def emit(
        self, type: EventType, step_id: str | None, attempt: int | None, data: dict[str, object]
    ) -> None:
        record: dict[str, Any] = {"type": str(type)}
        if step_id is not None:
            record["step_id"] = step_id
        if attempt is not None:
            record["attempt"] = attempt
        record.update(data)
        self._write(record)

    def finish(self, status: RunStatus, error: str | None, elapsed: float) -> None:
        event = "run_canceled" if status is RunStatus.CANCELED else "run_completed"
        self._write(
            {"type": event, "status": str(status), "error": error, "elapsed_sec": round(elapsed, 3)}
        )

    def close(self) -> None:
        """Nothing to undo: every line is complete when written."""

    def _write(self, record: dict[str, Any]) -> None:
        record = {"ts": round(time.time(), 3), "run_id": self._run_id, **record}
        self._stream.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._stream.flush()


class PlainReporter:
    """One readable line per event, for logs and pipes."""

    def __init__(self, stream: IO[str] | None = None, quiet: bool = False) -> None:
        self._stream = stream or sys.stdout
        self._quiet = quiet
        self._start = time.monotonic()
        self._run_id = ""

    def start(self, run_id: str, plan_name: str, total: int) -> None:
        self._run_id = run_id
        self._start = time.monotonic()
        noun = "step" if total == 1 else "steps"
        self._line(f"run {run_id} started: {plan_name} ({total} {noun})")

    def emit(
        self, type: EventType, step_id: str | None, attempt: int | None, data: dict[str, object]
    ) -> None:
        if self._quiet or type in _QUIET_IN_PLAIN:
            return  # --quiet prints the summary line only
        text = str(type).removeprefix("step_")
        if (attempt is not None and attempt > 1) or type is EventType.STEP_RETRY:
            text += f" (attempt {attempt})"
        reason = data.get("reason")
        if reason and type is not EventType.STEP_SUCCEEDED:
            text += f": {reason}"
        if type is EventType.STEP_RETRY:
            text += f", next in {data.get('delay_sec')}s"
        self._line(f"{step_id or '-'}: {text}")

    def finish(self, status: RunStatus, error: str | None, elapsed: float) -> None:
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


def make_reporter(*, as_json: bool, quiet: bool, stream: IO[str] | None = None) -> Reporter:
    out = stream or sys.stdout
    if as_json:
        return JsonReporter(out)
    if quiet or not out.isatty():
        return PlainReporter(out, quiet=quiet)
    from engine.live import LiveReporter

    return LiveReporter()


class MaskedReporter:
    """Shows what another reporter shows, with secret values replaced by `***`."""

    def __init__(self, inner: Reporter, secret_values: Sequence[str]) -> None:
        self._inner = inner
        self._masker = StreamMasker(secret_values)

    def _mask(self, value: object) -> object:
        if isinstance(value, str):
            return self._masker.mask_all(value.encode()).decode(errors="replace")
        return value

    def start(self, run_id: str, plan_name: str, total: int) -> None:
        self._inner.start(run_id, plan_name, total)

    def emit(
        self, type: EventType, step_id: str | None, attempt: int | None, data: dict[str, object]
    ) -> None:
        self._inner.emit(type, step_id, attempt, {k: self._mask(v) for k, v in data.items()})

    def finish(self, status: RunStatus, error: str | None, elapsed: float) -> None:
        masked = self._mask(error)
        self._inner.finish(status, masked if isinstance(masked, str) else None, elapsed)

    def close(self) -> None:
        self._inner.close()
