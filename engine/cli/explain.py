"""`engine explain RUN_ID STEP`: a step's story, from the ledger: why it ran, waited, failed..."""

from __future__ import annotations

import heapq
import json
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import click

from engine.cli.options import json_option, ledger_option, run_id_argument
from engine.cli.output import open_ledger, print_json
from engine.errors import UserError
from engine.humanize import duration, plural
from engine.ledger.reader import LedgerReader
from engine.ledger.records import Attempt, Event, RunDetail, StepState
from engine.plan.matrix import matrix_base
from engine.states import EventType, ExitCode

_RUN_LEVEL = (EventType.CANCEL_REQUESTED, EventType.RUN_CANCELED, EventType.RUN_CRASHED)
_HOOK_GROUPS = ("steps", "on_success", "on_failure", "on_exit")


@dataclass(frozen=True)
class Line:
    ts: float
    type: str
    attempt: int | None
    text: str


@click.command("explain")
@run_id_argument
@click.argument("step_id")
@ledger_option
@json_option
def command(run_id: str, step_id: str, ledger: str | None, as_json: bool) -> int:
    """Tell why a step ran, waited, was skipped, retried, reused or failed."""
    with open_ledger(ledger) as reader, reader.snapshot():
        full_id = reader.resolve_run_id(run_id)
        run = reader.get_run(full_id)
        states = {s.step_id: s for s in reader.run_steps(full_id)}
        if run is None or step_id not in states:
            raise UserError(
                f"Run {full_id} has no step {step_id!r}{_dropped(reader, run, step_id)}."
            )
        events = reader.events(run_id=full_id, step_id=step_id, limit=10_000)
        run_events = reader.events(run_id=full_id, types=_RUN_LEVEL, limit=100)
        attempts = reader.attempts(full_id, step_id)
    spec = _step_spec(json.loads(run.plan_json), step_id)
    deps = [(d, _status_of(d, states)) for d in spec.get("depends_on", [])]
    story = _story(events, [e for e in run_events if e.step_id is None], attempts)
    state = states[step_id]
    if as_json:
        print_json(
            {"run_id": full_id, "step_id": step_id, "status": str(state.status),
             "attempts": state.attempts, "reason": state.reason,
             "depends_on": [{"step_id": d, "status": s} for d, s in deps],
             "condition": spec.get("condition"), "story": story}
        )  # fmt: skip
        return int(ExitCode.OK)
    click.echo(f"step {step_id} of run {full_id} ({run.summary.plan_name}): {state.status}")
    if deps:
        click.echo("depends on " + ", ".join(f"{d} ({s})" for d, s in deps))
    if spec.get("condition"):
        click.echo(f"condition  {spec['condition']}")
    for line in story:
        clock = time.strftime("%H:%M:%S", time.gmtime(line.ts))
        click.echo(f"  {clock}  {line.text}")
    if not story:
        click.echo(f"  nothing happened to it yet ({state.status}); it waits for its dependencies")
    return int(ExitCode.OK)


def _dropped(reader: LedgerReader, run: RunDetail | None, step_id: str) -> str:
    """`: ...` when the run resumed one that had the step: the edited plan dropped it."""
    old = None if run is None else run.summary.resumed_from
    if old is None or step_id not in {s.step_id for s in reader.run_steps(old)}:
        return ""
    return f" (run {old}, which it resumes, had it: the edited plan dropped it)"


def _step_spec(plan: dict[str, Any], step_id: str) -> dict[str, Any]:
    """The step as written in the plan; a matrix expansion's is its matrix step's."""
    written = matrix_base(step_id) or step_id
    for group in _HOOK_GROUPS:
        for step in plan.get(group) or []:
            if isinstance(step, dict) and step.get("id") == written:
                return step
    return {}


def _status_of(step_id: str, states: dict[str, StepState]) -> str:
    """A dependency's status; a matrix step's is its expansions' (`matrix of 3: 2 succeeded,
    1 failed`)."""
    if step_id in states:
        return str(states[step_id].status)
    counts = Counter(str(s.status) for k, s in states.items() if matrix_base(k) == step_id)
    if not counts:
        return "?"
    total = sum(counts.values())
    return f"matrix of {total}: " + ", ".join(f"{n} {status}" for status, n in counts.items())


def _story(events: list[Event], run_events: list[Event], attempts: list[Attempt]) -> list[Line]:
    """The step's events and attempt outcomes as sentences, in time order."""
    lines: list[Line] = []
    ready_at: float | None = None
    for event in events:
        data = event.data or {}
        if event.type == EventType.STEP_READY:
            ready_at = event.ts
        elif event.type == EventType.STEP_STARTED and ready_at is not None and event.attempt == 1:
            data = {**data, "waited_ms": (event.ts - ready_at) * 1000}
        lines.append(Line(event.ts, event.type, event.attempt, _sentence(event.type, data, event)))
    for attempt in sorted(attempts, key=lambda attempt: attempt.attempt):
        if attempt.finished_at is not None:
            text = f"attempt {attempt.attempt} {attempt.status}"
            detail = attempt.message or attempt.error_code
            detail = None if detail == attempt.status else detail
            if detail:
                text += f": {detail}"
            text += f" after {duration(attempt.duration_ms)}"
            end = Line(attempt.finished_at, "attempt_finished", attempt.attempt, text)
            lines.insert(_end_position(lines, end), end)
    run_lines = [
        Line(
            event.ts, event.type, None, "the run: " + _sentence(event.type, event.data or {}, event)
        )
        for event in run_events
    ]
    return list(heapq.merge(lines, run_lines, key=lambda line: line.ts))


def _end_position(lines: list[Line], end: Line) -> int:
    """Where an attempt's end goes among the step's lines (in the order they were recorded):
    after its own start, before what was recorded at or after its end.

    Times are milliseconds, so a quick attempt starts, ends and its step succeeds in one of them.
    """
    position = 0
    for index, line in enumerate(lines):
        if line.type == EventType.STEP_STARTED and line.attempt == end.attempt:
            position = index + 1
            break
    while position < len(lines) and lines[position].ts < end.ts:
        position += 1
    return position


def _sentence(kind: str, data: dict[str, Any], event: Event) -> str:
    reason = data.get("reason")
    if kind == EventType.STEP_RERUN:
        return f"runs again: {reason}"
    if kind == EventType.STEP_REUSED:
        return f"reused, not run: {reason}"
    if kind == EventType.STEP_CACHE_MISS:
        return f"not taken from the cache: {reason}"
    if kind == EventType.STEP_READY:
        return "ready: its dependencies are done and its condition allows it; waits for a slot"
    if kind == EventType.STEP_STARTED:
        text = f"attempt {event.attempt} started (pid {data.get('pid')})"
        if "waited_ms" in data:
            text += f" after waiting {duration(data['waited_ms'])} for a concurrency slot"
        if data.get("retry_reason"):
            text += f", a retry after {data['retry_reason']}"
            if data.get("delay_ms") is not None:
                text += f" and a delay of {duration(data['delay_ms'])}"
        return text
    if kind == EventType.STEP_RETRY:
        delay, number = data.get("delay_sec"), data.get("next_attempt")
        text = "will retry" + (f" in {delay}s" if delay is not None else "")
        return text + (f" (attempt {number})" if number else "") + f" because {reason}"
    if kind == EventType.STEP_TIMEOUT:
        return f"attempt {event.attempt} timed out after {data.get('timeout_sec')}s"
    if kind == EventType.STEP_LOG_TRUNCATED:
        lost = data.get("bytes_lost")
        amount = "some output" if lost is None else f"{plural(lost, 'byte')} of output"
        why = data.get("error")
        return f"attempt {event.attempt} could not write its log ({why}): {amount} lost"
    if kind == EventType.STEP_FALLBACK:
        return f"failed for good; its fallback {data.get('fallback')} runs in its place"
    if kind == EventType.CANCEL_REQUESTED:
        return f"cancel requested by {data.get('requested_by')}"
    if kind in (EventType.STEP_SUCCEEDED, EventType.STEP_FAILED, EventType.STEP_SKIPPED,
                EventType.STEP_CANCELED):  # fmt: skip
        status = kind.removeprefix("step_")
        return status + (f": {reason}" if reason else "")
    if kind in (EventType.RUN_CANCELED, EventType.RUN_CRASHED):
        return f"{kind.removeprefix('run_')}" + (f": {data['error']}" if data.get("error") else "")
    rest = ", ".join(f"{k}={v}" for k, v in data.items() if v is not None)
    return f"{kind} {rest}".rstrip()
