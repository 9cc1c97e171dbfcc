"""The run detail's Timeline tab: one bar per attempt on a shared time axis (a Gantt chart)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.text import Text
from textual.containers import VerticalScroll
from textual.geometry import Size
from textual.widget import Widget
from textual.widgets import TabPane

from engine.ledger.records import Attempt, RunDetail
from ledger_tui import format as fmt
from ledger_tui.timeline import Timeline, axis, build_timeline, plan_dependencies
from ledger_tui.widgets.cells import STATUS_ICON, STATUS_VARIABLE, theme_style

LABEL_WIDTH = 22
END_WIDTH = 10  # after a bar: ` ▶ 12m34s`; zoom to fit keeps room for it at the right edge
CRITICAL_MARK = "◆"
BAR = "█"
CRITICAL_BAR = "▇"  # NO_COLOR still tells the critical path apart
LEGEND = f"{CRITICAL_MARK} critical path   ↻ retry   bars fit the width: the whole run is shown"


class TimelineView(Widget):
    """Paints a `Timeline` to its width; while the run is live it redraws once a second."""

    DEFAULT_CSS = """
    TimelineView { height: auto; padding: 0 1; }
    """

    def __init__(self, clock: Callable[[], float], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._clock = clock
        self._attempts: tuple[Attempt, ...] = ()
        self._deps: dict[str, tuple[str, ...]] = {}
        self._plan_json: str | None = None
        self._started: float | None = None
        self._finished: float | None = None
        self._live = False

    def on_mount(self) -> None:
        self.set_interval(1.0, self._tick)

    def show(self, detail: RunDetail, attempts: Sequence[Attempt]) -> None:
        """Take the run's current attempts; repaints only if something changed."""
        summary = detail.summary
        if detail.plan_json != self._plan_json:
            self._plan_json = detail.plan_json
            self._deps = plan_dependencies(detail.plan_json)
        live = not summary.status.is_final
        changed = tuple(attempts) != self._attempts or (
            summary.started_at,
            summary.finished_at,
            live,
        ) != (self._started, self._finished, self._live)
        self._attempts = tuple(attempts)
        self._started, self._finished, self._live = (
            summary.started_at,
            summary.finished_at,
            live,
        )
        if changed:
            self.refresh(layout=True)

    def timeline(self) -> Timeline:
        return build_timeline(
            self._attempts, self._deps, self._started, self._finished, self._clock()
        )

    def _tick(self) -> None:
        # Running bars grow with the clock; nothing to do for a finished run or a hidden tab.
        if self._live and self.is_on_screen:
            self.refresh()

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._attempts) + 3 if self._attempts else 1

    def render(self) -> Text:
        if not self._attempts:
            return Text("No attempt has started yet.")
        timeline = self.timeline()
        variables = self.app.theme_variables
        width = max(10, self.content_size.width - LABEL_WIDTH - 1 - END_WIDTH)
        text = Text(no_wrap=True, overflow="crop")
        text.append(" " * (LABEL_WIDTH + 1) + axis(timeline.span, width) + "\n", style="dim")
        for bar in timeline.bars:
            mark = CRITICAL_MARK if bar.critical else " "
            retry = "↻" if bar.attempt > 1 else " "
            label = f"{mark}{retry}{bar.step_id} #{bar.attempt}"
            if len(label) > LABEL_WIDTH:
                label = label[: LABEL_WIDTH - 1] + "…"
            icon = STATUS_ICON.get(bar.status, "?")
            style = theme_style(variables, STATUS_VARIABLE.get(bar.status, "foreground"))
            start = timeline.column(bar.start, width)
            end = max(start + 1, timeline.column(bar.end, width) + (bar.end > bar.start))
            end = min(end, width)
            text.append(label.ljust(LABEL_WIDTH) + " ", style="bold" if bar.critical else "")
            text.append(" " * start)
            text.append((CRITICAL_BAR if bar.critical else BAR) * (end - start), style=style)
            text.append(f" {icon} {fmt.duration((bar.end - bar.start) * 1000)}\n")
        text.append(LEGEND, style="dim")
        return text


def timeline_pane(clock: Callable[[], float]) -> TabPane:
    """The Timeline tab, scrollable when there are more attempts than lines."""
    return TabPane(
        "Timeline", VerticalScroll(TimelineView(clock, id="timeline")), id="tab-timeline"
    )
