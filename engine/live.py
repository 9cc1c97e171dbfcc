"""The live terminal display of `engine run`: steps done/total, what runs, elapsed, ETA (rich)."""

from __future__ import annotations

import time
from collections.abc import Collection
from typing import TYPE_CHECKING

from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn
from rich.table import Column
from rich.text import Text

from engine.humanize import duration
from engine.palette import terminal_style
from engine.progress import FailureLogs, attempt_number
from engine.states import EventType, RunStatus

if TYPE_CHECKING:
    from engine.run.recorder import RecordedEvent

_WAITING = (EventType.RUN_WAITING, EventType.STEP_WAITING)
_FINAL = {
    event: terminal_style(event.removeprefix("step_"))
    for event in (
        EventType.STEP_SUCCEEDED,
        EventType.STEP_FAILED,
        EventType.STEP_SKIPPED,
        EventType.STEP_CANCELED,
        EventType.STEP_REUSED,
    )
}


class _Counts(ProgressColumn):
    """`3/40 steps · 2 skipped · 1 failed · 0/1 hook`: hooks apart, so steps never exceed total."""

    def __init__(self, reporter: LiveReporter) -> None:
        super().__init__(table_column=Column(no_wrap=True))
        self._reporter = reporter

    def render(self, task: Task) -> Text:
        return Text(self._reporter.counts_text())


class _Eta(ProgressColumn):
    """Time left by the run's expected length from history (as `engine run --dry-run` says)."""

    def __init__(self, expected_ms: int | None) -> None:
        super().__init__(table_column=Column(no_wrap=True))
        self._expected_ms = expected_ms

    def render(self, task: Task) -> Text:
        return Text(eta_text(self._expected_ms, (task.elapsed or 0.0) * 1000), style="cyan")


def eta_text(expected_ms: int | None, elapsed_ms: float) -> str:
    """`ETA ~12s`, `ETA overdue` past the expected length, or `` without history."""
    if expected_ms is None:
        return ""
    left = expected_ms - elapsed_ms
    return f"ETA ~{duration(left)}" if left > 0 else "ETA overdue"


class LiveReporter:
    """Redraws a progress bar and the running steps; prints each failure above it as it happens."""

    def __init__(
        self,
        *,
        hook_ids: Collection[str] = (),
        expected_ms: int | None = None,
        console: Console | None = None,
    ) -> None:
        # No highlighter: it would colour the "0." of "0.21s" as a number, apart from its "21s".
        self._console = console or Console(stderr=False, highlight=False)
        self._hooks = frozenset(hook_ids)
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            _Counts(self),
            TimeElapsedColumn(),
            _Eta(expected_ms),
            console=self._console,
        )
        self._running: dict[str, float] = {}
        self._live = Live(
            Group(self._progress, Text("")), console=self._console, refresh_per_second=8
        )
        self._task = self._progress.add_task("starting", total=None)
        self._run_id = ""
        self._total = 0
        self._done = self._skipped = self._failed = self._hooks_done = 0
        self._logs = FailureLogs()

    def start(self, run_id: str, plan_name: str, total: int) -> None:
        self._run_id = run_id
        self._total = total
        self._progress.reset(self._task, description=f"{plan_name} {run_id}", total=total)
        self._live.start()

    def counts_text(self) -> str:
        text = f"{self._done}/{self._total} steps"
        if self._skipped:
            text += f" · {self._skipped} skipped"
        if self._failed:
            text += f" · {self._failed} failed"
        if self._hooks:
            noun = "hook" if len(self._hooks) == 1 else "hooks"
            text += f" · {self._hooks_done}/{len(self._hooks)} {noun}"
        return text

    def emit(self, event: RecordedEvent) -> None:
        type, step_id, attempt, data = event.type, event.step_id, event.attempt, event.data or {}
        if type in _WAITING:
            text = f"{step_id or 'run'} waiting: {data.get('reason')}"
            self._console.print(Text(text, style="yellow"))
            return
        if step_id is None:
            return
        self._logs.note(type, step_id, attempt, data)
        if type is EventType.STEP_STARTED:
            self._running[step_id] = time.monotonic()
        elif type in _FINAL or type is EventType.STEP_RETRY:
            self._running.pop(step_id, None)
            if type in _FINAL:
                self._count(type, step_id)
            if type in (EventType.STEP_FAILED, EventType.STEP_RETRY):
                self._print_failure(type, step_id, attempt_number(type, attempt, data), data)
        self._live.update(Group(self._progress, self._running_text()))

    def _count(self, type: EventType, step_id: str) -> None:
        if step_id in self._hooks:
            self._hooks_done += 1
            return
        self._done += 1
        self._skipped += type is EventType.STEP_SKIPPED
        self._failed += type is EventType.STEP_FAILED
        self._progress.update(self._task, completed=self._done)

    def _print_failure(
        self, type: EventType, step_id: str, attempt: int | None, data: dict[str, object]
    ) -> None:
        retry = type is EventType.STEP_RETRY
        line = Text(f"{step_id}: ", style="yellow" if retry else "red")
        line.append("retry" if retry else "failed")
        if retry or (attempt or 0) > 1:
            line.append(f" (attempt {attempt})")
        if data.get("reason"):
            line.append(f": {data['reason']}")
        if not retry:  # one print: the display redraws once, under all of it
            for detail in self._logs.explain(self._run_id, step_id):
                line.append("\n" + detail, style="dim")
        self._console.print(line)

    def _running_text(self) -> Text:
        if not self._running:
            return Text("")
        now = time.monotonic()
        shown = sorted(self._running.items(), key=lambda item: item[1])[:8]
        parts = [f"{sid} {now - started:.0f}s" for sid, started in shown]
        more = len(self._running) - len(shown)
        return Text("running: " + ", ".join(parts) + (f" (+{more})" if more else ""), style="cyan")

    def close(self) -> None:
        """Stops redrawing and shows the cursor again; harmless if the display never started."""
        self._live.stop()

    def finish(
        self, status: RunStatus, error: str | None, elapsed: float, exit_code: int | None = None
    ) -> None:
        self._live.stop()
        style = terminal_style(status)
        text = Text(f"run {self._run_id} ")
        text.append(str(status), style=style)
        text.append(f" in {elapsed:.2f}s" + (f": {error}" if error else ""))
        self._console.print(text)
