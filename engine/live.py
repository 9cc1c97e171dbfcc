"""The live terminal display of `engine run`: done/total, running steps, elapsed time (rich)."""

from __future__ import annotations

import time

from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from engine.states import EventType, RunStatus

_FINAL = {
    EventType.STEP_SUCCEEDED: "green",
    EventType.STEP_FAILED: "red",
    EventType.STEP_SKIPPED: "dim",
    EventType.STEP_CANCELED: "yellow",
}


class LiveReporter:
    """Redraws a progress bar and the running steps; prints each failure above it as it happens."""

    def __init__(self) -> None:
        # No highlighter: it would colour the "0." of "0.21s" as a number, apart from its "21s".
        self._console = Console(stderr=False, highlight=False)
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self._console,
        )
        self._running: dict[str, float] = {}
        self._live = Live(
            Group(self._progress, Text("")), console=self._console, refresh_per_second=8
        )
        self._task = self._progress.add_task("starting", total=None)
        self._run_id = ""

    def start(self, run_id: str, plan_name: str, total: int) -> None:
        self._run_id = run_id
        self._progress.update(self._task, description=f"{plan_name} {run_id}", total=total)
        self._live.start()

    def emit(
        self, type: EventType, step_id: str | None, attempt: int | None, data: dict[str, object]
    ) -> None:
        if step_id is None:
            return
        if type is EventType.STEP_STARTED:
            self._running[step_id] = time.monotonic()
        elif type in _FINAL or type is EventType.STEP_RETRY:
            self._running.pop(step_id, None)
            if type in _FINAL:
                self._progress.advance(self._task)
            if type in (EventType.STEP_FAILED, EventType.STEP_RETRY):
                reason = data.get("reason") or ""
                label = "retry" if type is EventType.STEP_RETRY else "failed"
                self._console.print(f"[{_FINAL.get(type, 'yellow')}]{step_id}: {label}[/] {reason}")
        self._live.update(Group(self._progress, self._running_text()))

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

    def finish(self, status: RunStatus, error: str | None, elapsed: float) -> None:
        self._live.stop()
        style = "green" if status is RunStatus.SUCCEEDED else "red"
        text = f"run {self._run_id} [{style}]{status}[/] in {elapsed:.2f}s"
        self._console.print(text + (f": {error}" if error else ""))
