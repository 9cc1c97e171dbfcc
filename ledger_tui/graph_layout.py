"""A plan's DAG laid out left to right in layers, for the Graph tab (no Textual here).

The classic layered (Sugiyama) layout, as Graphviz's `dot -Grankdir=LR` and Argo's DAG view draw:
longest-path layering (a step sits one layer right of its latest dependency), an edge that skips
layers passes through a placeholder in each layer it crosses, and the order within each layer is
improved by barycenter sweeps, keeping the order with the fewest crossings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter

SWEEPS = 8  # down-and-up barycenter passes; more rarely removes another crossing


@dataclass(frozen=True)
class Slot:
    """One place in a layer: a step, or a placeholder an edge `source -> target` passes through."""

    step: str | None
    source: str | None = None  # for a placeholder: the edge it carries
    target: str | None = None

    @property
    def key(self) -> tuple[str | None, str | None, str | None]:
        return (self.step, self.source, self.target)


@dataclass(frozen=True)
class Layout:
    """The layers, left to right, each in its drawing order, and the edges between neighbours."""

    layers: tuple[tuple[Slot, ...], ...]
    # Between layer i and i + 1: (row in layer i, row in layer i + 1) for every edge segment.
    links: tuple[tuple[tuple[int, int], ...], ...]

    def position(self, step: str) -> tuple[int, int] | None:
        """(layer, row) of `step`, or None if it is not in the layout."""
        for index, layer in enumerate(self.layers):
            for row, slot in enumerate(layer):
                if slot.step == step:
                    return index, row
        return None

    def crossings(self) -> int:
        return sum(count_crossings(links) for links in self.links)


def layer_of(steps: Sequence[str], deps: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """Longest-path layering: 0 for a step without dependencies, else 1 + its deepest one's."""
    known = set(steps)
    graph = {step: [d for d in deps.get(step, ()) if d in known] for step in steps}
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError:
        order = list(steps)  # a plan the engine refused; show it flat rather than not at all
        graph = {step: [] for step in steps}
    layers: dict[str, int] = {}
    for step in order:
        layers[step] = 1 + max((layers[d] for d in graph[step]), default=-1)
    return layers


def count_crossings(links: Sequence[tuple[int, int]]) -> int:
    """How many pairs of segments between two layers cross (rows strictly inverted)."""
    ordered = sorted(links)
    crossings = 0
    for i, (top_a, bottom_a) in enumerate(ordered):
        for top_b, bottom_b in ordered[i + 1 :]:
            if top_b > top_a and bottom_b < bottom_a:
                crossings += 1
    return crossings


def layout(steps: Sequence[str], deps: Mapping[str, Sequence[str]]) -> Layout:
    """Lay out `steps` (in plan order) with their dependencies `deps`."""
    rank = layer_of(steps, deps)
    depth = max(rank.values(), default=-1) + 1
    layers: list[list[Slot]] = [[] for _ in range(depth)]
    for step in steps:
        layers[rank[step]].append(Slot(step))
    # Segments between neighbouring layers, by slot key: a long edge becomes a chain of them.
    segments: list[list[tuple[tuple[object, ...], tuple[object, ...]]]] = [
        [] for _ in range(max(depth - 1, 0))
    ]
    for step in steps:
        for dep in deps.get(step, ()):
            if dep not in rank:
                continue
            previous = Slot(dep).key
            for middle in range(rank[dep] + 1, rank[step]):
                placeholder = Slot(None, dep, step)
                layers[middle].append(placeholder)
                segments[middle - 1].append((previous, placeholder.key))
                previous = placeholder.key
            segments[rank[step] - 1].append((previous, Slot(step).key))
    best = [list(layer) for layer in layers]
    best_crossings = _crossings(best, segments)
    for sweep in range(SWEEPS):
        _sweep(layers, segments, downward=sweep % 2 == 0)
        found = _crossings(layers, segments)
        if found < best_crossings:
            best, best_crossings = [list(layer) for layer in layers], found
        if best_crossings == 0:
            break
    return Layout(
        tuple(tuple(layer) for layer in best),
        tuple(_links(best, segments, gap) for gap in range(len(segments))),
    )


def _rows(layer: Sequence[Slot]) -> dict[tuple[object, ...], int]:
    return {slot.key: row for row, slot in enumerate(layer)}


def _links(
    layers: Sequence[Sequence[Slot]],
    segments: Sequence[Sequence[tuple[tuple[object, ...], tuple[object, ...]]]],
    gap: int,
) -> tuple[tuple[int, int], ...]:
    left, right = _rows(layers[gap]), _rows(layers[gap + 1])
    return tuple(sorted((left[a], right[b]) for a, b in segments[gap]))


def _crossings(
    layers: Sequence[Sequence[Slot]],
    segments: Sequence[Sequence[tuple[tuple[object, ...], tuple[object, ...]]]],
) -> int:
    return sum(count_crossings(_links(layers, segments, gap)) for gap in range(len(segments)))


def _sweep(
    layers: list[list[Slot]],
    segments: Sequence[Sequence[tuple[tuple[object, ...], tuple[object, ...]]]],
    *,
    downward: bool,
) -> None:
    """Reorder each layer by the mean row of its neighbours in the layer before (or after)."""
    indexes = range(1, len(layers)) if downward else range(len(layers) - 2, -1, -1)
    for index in indexes:
        fixed = _rows(layers[index - 1] if downward else layers[index + 1])
        pulls: dict[tuple[object, ...], list[int]] = {}
        gap = index - 1 if downward else index
        for a, b in segments[gap]:
            mine, theirs = (b, a) if downward else (a, b)
            pulls.setdefault(mine, []).append(fixed[theirs])
        current = _rows(layers[index])
        order = {
            key: (sum(rows) / len(rows) if (rows := pulls.get(key)) else float(row), row)
            for key, row in current.items()
        }
        layers[index].sort(key=lambda slot: order[slot.key])
