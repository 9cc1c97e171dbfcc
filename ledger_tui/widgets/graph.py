"""The run detail's Graph tab: the plan's DAG, left to right, each step in its status colour.

Arrow keys move between steps (up/down within a column, left/right to the nearest step in the
next column); enter opens the step (its log). Past `MAX_DRAWN_STEPS` the graph would be a wall of
lines: it collapses to one line per layer with its steps counted by status.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.containers import ScrollableContainer
from textual.geometry import Region, Size
from textual.message import Message
from textual.widget import Widget
from textual.widgets import TabPane

from engine.ledger.records import RunDetail, StepState
from engine.plan.matrix import matrix_base
from engine.step_groups import group_status
from ledger_tui.graph_canvas import Canvas, NodeBox, draw
from ledger_tui.graph_layout import Layout, layer_of, layout
from ledger_tui.timeline import plan_dependencies
from ledger_tui.widgets.cells import STATUS_ICON, STATUS_VARIABLE, theme_style

MAX_DRAWN_STEPS = 300
# Which step of a collapsed layer enter opens: the one most worth a look.
INTEREST = ("running", "retrying", "failed", "canceled", "ready")


class GraphView(Widget, can_focus=True):
    """Draws the DAG (or its collapsed layers) and moves a cursor over the steps."""

    DEFAULT_CSS = """
    GraphView { width: auto; height: auto; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "move(0, -1)", "Step up", show=False, id="graph.up"),
        Binding("down,j", "move(0, 1)", "Step down", show=False, id="graph.down"),
        Binding("left,h", "move(-1, 0)", "Column left", show=False, id="graph.left"),
        Binding("right,l", "move(1, 0)", "Column right", show=False, id="graph.right"),
        Binding("enter", "open", "Open step", id="graph.open"),
    ]

    class StepChosen(Message):
        """Enter on a step: the screen shows it."""

        def __init__(self, step_id: str) -> None:
            super().__init__()
            self.step_id = step_id

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._plan_json: str | None = None
        self._steps: list[str] = []
        self._deps: dict[str, tuple[str, ...]] = {}
        self._layout: Layout | None = None
        self._drawn = True
        self._canvas = Canvas((), ())
        self._layers: list[list[str]] = []  # the collapsed view's layers, else empty
        self._status: dict[str, str] = {}
        self._members: dict[str, list[str]] = {}
        self.cursor: str | None = None
        self._collapsed_row = 0

    @property
    def collapsed(self) -> bool:
        return bool(self._layers)

    def show(self, detail: RunDetail, steps: Sequence[StepState]) -> None:
        """Take the plan and the step statuses; drawing waits until the tab is shown."""
        status = {s.step_id: str(s.status) for s in steps if not s.is_hook}
        members: dict[str, list[str]] = {}  # a matrix step (one node) -> its expansions
        for step_id in status:
            base = matrix_base(step_id)
            if base is not None:
                members.setdefault(base, []).append(step_id)
        for base, ids in members.items():
            status[base] = group_status(status[i] for i in ids)
        if detail.plan_json == self._plan_json and status == self._status:
            return
        self._status = status
        self._members = members
        if detail.plan_json != self._plan_json:
            self._plan_json = detail.plan_json
            self._deps = plan_dependencies(detail.plan_json)
            self._steps = [s for s in self._deps if s in status] or list(status)
            self._layout = None
            if self.cursor is None and self._steps:
                self.cursor = self._steps[0]
        self._drawn = False
        self.refresh(layout=True)

    def _draw(self) -> None:
        """Lay out (once per plan: 0.3 s for 300 densely linked steps) and draw, if not done yet."""
        if self._drawn:
            return
        self._drawn = True
        if len(self._steps) > MAX_DRAWN_STEPS:
            rank = layer_of(self._steps, self._deps)
            self._layers = [[] for _ in range(max(rank.values(), default=-1) + 1)]
            for step in self._steps:
                self._layers[rank[step]].append(step)
            return
        self._layers = []
        if self._layout is None:
            self._layout = layout(self._steps, self._deps)
        self._canvas = draw(self._layout, {s: self._label(s) for s in self._steps})

    def _label(self, step: str) -> str:
        label = f"{STATUS_ICON.get(self._status.get(step, 'pending'), '?')} {step}"
        members = self._members.get(step)
        if members:  # a matrix step: one node, its expansions counted by status
            counts = Counter(self._status.get(m, "pending") for m in members)
            label += " " + " ".join(f"{STATUS_ICON.get(st, '?')}{n}" for st, n in counts.items())
        return label

    # -- size and paint --------------------------------------------------------------------------

    def get_content_width(self, container: Size, viewport: Size) -> int:
        self._draw()
        lines = self._collapsed_lines() if self.collapsed else self._canvas.lines
        return max((len(line) for line in lines), default=1)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        self._draw()
        return max(1, len(self._layers) if self.collapsed else len(self._canvas.lines))

    def render(self) -> Text:
        self._draw()
        if not self._steps:
            return Text("No steps.")
        if self.collapsed:
            return self._render_collapsed()
        variables = self.app.theme_variables
        text = Text(no_wrap=True, overflow="crop")
        by_row: dict[int, list[NodeBox]] = {}
        for node in self._canvas.nodes:
            by_row.setdefault(node.row, []).append(node)
        for row, line in enumerate(self._canvas.lines):
            start = len(text)
            text.append(line + "\n", style="dim")
            for node in by_row.get(row, ()):
                status = self._status.get(node.step, "pending")
                style = theme_style(variables, STATUS_VARIABLE.get(status, "foreground"))
                if node.step == self.cursor:
                    style += Style(reverse=True, bold=True)
                text.stylize(style, start + node.x, start + node.x + node.width)
        text.rstrip()
        return text

    def _collapsed_lines(self) -> list[str]:
        lines = []
        for index, layer in enumerate(self._layers):
            counts = Counter(self._status.get(step, "pending") for step in layer)
            summary = "  ".join(
                f"{STATUS_ICON.get(status, '?')} {n}" for status, n in sorted(counts.items())
            )
            noun = "step " if len(layer) == 1 else "steps"
            lines.append(f"layer {index + 1:>3}  {len(layer):>5} {noun}   {summary}")
        return lines

    def _render_collapsed(self) -> Text:
        text = Text(no_wrap=True, overflow="crop")
        for row, line in enumerate(self._collapsed_lines()):
            text.append(line, style=Style(reverse=True) if row == self._collapsed_row else "")
            text.append("\n")
        text.append(
            f"{len(self._steps)} steps: more than {MAX_DRAWN_STEPS} are shown as layers,"
            " enter opens the step most worth a look in one",
            style="dim",
        )
        return text

    # -- keys ------------------------------------------------------------------------------------

    def on_show(self, event: events.Show) -> None:
        self.focus()  # the tab was opened: the arrows move over the graph

    def on_hide(self, event: events.Hide) -> None:
        if self.has_focus:  # a hidden widget must not keep the keys: back to the screen's own
            selector = self.screen.AUTO_FOCUS
            found = self.screen.query(selector).first() if selector else None
            if found is not None:
                found.focus()
            else:
                self.blur()

    def action_move(self, columns: int, rows: int) -> None:
        self._draw()
        if self.collapsed:
            self._collapsed_row = max(0, min(len(self._layers) - 1, self._collapsed_row + rows))
            self.refresh()
            return
        here = next((n for n in self._canvas.nodes if n.step == self.cursor), None)
        if here is None:
            return
        if columns:
            column = [n for n in self._canvas.nodes if n.layer == here.layer + columns]
            nearest = min(column, key=lambda n: (abs(n.row - here.row), n.row), default=None)
        else:
            same = [n for n in self._canvas.nodes if n.layer == here.layer]
            later = [n for n in same if (n.row - here.row) * rows > 0]
            nearest = min(later, key=lambda n: abs(n.row - here.row), default=None)
        if nearest is not None:
            self.cursor = nearest.step
            self.refresh()
            if isinstance(self.parent, Widget):
                region = Region(nearest.x, nearest.row, nearest.width + 2, 1)
                self.parent.scroll_to_region(region, animate=False)

    def action_open(self) -> None:
        self._draw()
        step = self.cursor
        if self.collapsed and self._layers:
            step = self._most_interesting(self._layers[self._collapsed_row])
        if step is not None and step in self._members:  # a matrix step: its likeliest expansion
            step = self._most_interesting(self._members[step])
        if step is not None:
            self.post_message(self.StepChosen(step))

    def _most_interesting(self, steps: list[str]) -> str:
        ranked = [s for status in INTEREST for s in steps if self._status.get(s) == status]
        return (ranked or steps)[0]


class GraphScroll(ScrollableContainer, can_focus=False):
    """Scrolls the graph both ways; the graph itself takes the keys."""


def graph_pane() -> TabPane:
    return TabPane("Graph", GraphScroll(GraphView(id="graph")), id="tab-graph")
