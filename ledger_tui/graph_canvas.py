"""A laid-out DAG drawn as lines of text with box-drawing edges, for the Graph tab (no Textual).

Layers are columns, one step per line. Between two columns each step with edges leaving it gets a
vertical channel of its own, so a fan-out reads as one line splitting (`┬`, `├`) and a fan-in as
several lines arriving at one `▸`; an edge that skips columns runs through them as `─`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ledger_tui.graph_layout import Layout, Slot

MAX_CHANNELS = 12  # per gap; more sources than that share channels (a dense gap stays bounded)
ARROW = "▸"
NORTH, SOUTH, EAST, WEST = 1, 2, 4, 8
BOX = {
    NORTH: "│", SOUTH: "│", NORTH | SOUTH: "│", EAST: "─", WEST: "─", EAST | WEST: "─",
    SOUTH | EAST: "┌", SOUTH | WEST: "┐", NORTH | EAST: "└", NORTH | WEST: "┘",
    NORTH | SOUTH | EAST: "├", NORTH | SOUTH | WEST: "┤", SOUTH | EAST | WEST: "┬",
    NORTH | EAST | WEST: "┴", NORTH | SOUTH | EAST | WEST: "┼",
}  # fmt: skip


@dataclass(frozen=True)
class NodeBox:
    """Where a step's label was drawn."""

    step: str
    layer: int
    row: int
    x: int
    width: int


@dataclass(frozen=True)
class Canvas:
    lines: tuple[str, ...]
    nodes: tuple[NodeBox, ...]


def draw(layout: Layout, labels: Mapping[str, str], max_label: int = 24) -> Canvas:
    """Draw `layout` with each step shown as `labels[step]` (cut to `max_label` characters)."""
    shown = {step: _cut(text, max_label) for step, text in labels.items()}
    widths = [
        max((len(shown.get(s.step, s.step)) for s in layer if s.step is not None), default=1)
        for layer in layout.layers
    ]
    lefts: list[int] = []
    x = 0
    for index, width in enumerate(widths):
        lefts.append(x)
        channels = min(MAX_CHANNELS, len({a for a, _ in _links(layout, index)}))
        x += width + channels + 4  # a space, a line's start, the channels, a line's end, the arrow
    height = max((len(layer) for layer in layout.layers), default=0)
    bits = [[0] * x for _ in range(height)]
    text: list[list[str]] = [[" "] * x for _ in range(height)]
    nodes: list[NodeBox] = []
    for index, layer in enumerate(layout.layers):
        for row, slot in enumerate(layer):
            if slot.step is None:
                _hline(bits, row, lefts[index], lefts[index] + widths[index])
                continue
            label = shown.get(slot.step, _cut(slot.step, max_label))
            text[row][lefts[index] : lefts[index] + len(label)] = label
            nodes.append(NodeBox(slot.step, index, row, lefts[index], len(label)))
        if index + 1 < len(layout.layers):
            _draw_gap(bits, text, layout, index, lefts, widths, shown, max_label)
    lines = []
    for row in range(height):
        cells = [BOX[b] if b and c == " " else c for b, c in zip(bits[row], text[row], strict=True)]
        lines.append("".join(cells).rstrip())
    return Canvas(tuple(lines), tuple(nodes))


def _draw_gap(
    bits: list[list[int]],
    text: list[list[str]],
    layout: Layout,
    index: int,
    lefts: list[int],
    widths: list[int],
    shown: Mapping[str, str],
    max_label: int,
) -> None:
    links = _links(layout, index)
    sources = sorted({a for a, _ in links})
    first_channel = lefts[index] + widths[index] + 2
    channel = {row: first_channel + i % MAX_CHANNELS for i, row in enumerate(sources)}
    target_left = lefts[index + 1]
    for a, b in links:
        slot = layout.layers[index][a]
        start = (
            lefts[index] + widths[index]
            if slot.step is None
            else _label_end(slot, lefts[index], shown, max_label)
        )
        _hline(bits, a, start, channel[a])
        _vline(bits, channel[a], a, b)
        target: Slot = layout.layers[index + 1][b]
        if target.step is None:
            _hline(bits, b, channel[a], target_left)  # runs on through the placeholder
        else:
            _hline(bits, b, channel[a], target_left - 1)
            text[b][target_left - 1] = ARROW


def _links(layout: Layout, index: int) -> tuple[tuple[int, int], ...]:
    return layout.links[index] if index < len(layout.links) else ()


def _label_end(slot: Slot, left: int, shown: Mapping[str, str], max_label: int) -> int:
    assert slot.step is not None
    return left + len(shown.get(slot.step, _cut(slot.step, max_label))) + 1


def _cut(label: str, most: int) -> str:
    return label if len(label) <= most else label[: most - 1] + "…"


def _hline(bits: list[list[int]], row: int, start: int, end: int) -> None:
    if end <= start:
        return
    bits[row][start] |= EAST
    for x in range(start + 1, end):
        bits[row][x] |= EAST | WEST
    bits[row][end] |= WEST


def _vline(bits: list[list[int]], x: int, a: int, b: int) -> None:
    if a == b:
        return
    top, bottom = min(a, b), max(a, b)
    bits[top][x] |= SOUTH
    for row in range(top + 1, bottom):
        bits[row][x] |= NORTH | SOUTH
    bits[bottom][x] |= NORTH
