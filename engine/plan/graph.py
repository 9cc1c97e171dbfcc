"""The dependency graph of a list of steps: order, dependents, cycles and ancestry.

graphlib does the ordering and cycle detection in time linear in steps + edges. Ancestry, which
only output references and conditions need, is computed on first use as integer bitsets in
topological order, so a plan that never asks pays nothing for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from graphlib import CycleError, TopologicalSorter

from engine.plan.model import Step

MAX_REPORTED_CYCLES = 10


class StepGraph:
    """Steps keyed by id, with the edges that name known steps (unknown ones are reported elsewhere)."""

    def __init__(self, steps: Sequence[Step]) -> None:
        self.steps: dict[str, Step] = {}
        for step in steps:
            self.steps.setdefault(step.id, step)
        self.deps: dict[str, tuple[str, ...]] = {
            sid: tuple(d for d in step.depends_on if d in self.steps)
            for sid, step in self.steps.items()
        }
        self.dependents: dict[str, list[str]] = {sid: [] for sid in self.steps}
        for sid, deps in self.deps.items():
            for dep in deps:
                self.dependents[dep].append(sid)
        self._position = {sid: i for i, sid in enumerate(self.steps)}
        self._bits: dict[str, int] | None = None
        self._order: list[str] | None = None

    def cycles(self) -> list[list[str]]:
        """Up to MAX_REPORTED_CYCLES distinct cycles, each as [a, b, c, a] where a depends on b."""
        graph = {sid: set(deps) for sid, deps in self.deps.items()}
        found: list[list[str]] = []
        while len(found) < MAX_REPORTED_CYCLES:
            try:
                TopologicalSorter(graph).prepare()
            except CycleError as error:
                # graphlib lists each node before the node that depends on it; we print dependents first.
                cycle = list(reversed(error.args[1]))
                found.append(cycle)
                graph[cycle[0]].discard(cycle[1])  # break this cycle and look for the next
                continue
            break
        return found

    def order(self) -> list[str]:
        """Every step id, dependencies first; only meaningful for an acyclic graph."""
        if self._order is None:
            self._order = list(TopologicalSorter(dict(self.deps)).static_order())
        return self._order

    def ancestors(self, step_id: str) -> set[str]:
        """Every step that `step_id` depends on, directly or transitively."""
        bits = self._ancestor_bits().get(step_id, 0)
        ids = list(self.steps)
        found: set[str] = set()
        index = 0
        while bits:
            if bits & 1:
                found.add(ids[index])
            bits >>= 1
            index += 1
        return found

    def is_ancestor(self, ancestor: str, step_id: str) -> bool:
        position = self._position.get(ancestor)
        if position is None:
            return False
        return bool(self._ancestor_bits().get(step_id, 0) >> position & 1)

    def descendants(self, roots: Iterable[str]) -> set[str]:
        """Every step that depends, directly or transitively, on one of `roots` (roots excluded)."""
        seen: set[str] = set()
        stack = [d for root in roots for d in self.dependents.get(root, ())]
        while stack:
            sid = stack.pop()
            if sid not in seen:
                seen.add(sid)
                stack.extend(self.dependents[sid])
        return seen

    def _ancestor_bits(self) -> dict[str, int]:
        if self._bits is None:
            positions = self._position
            bits: dict[str, int] = {}
            for sid in self.order():
                value = 0
                for dep in self.deps[sid]:
                    value |= bits[dep] | (1 << positions[dep])
                bits[sid] = value
            self._bits = bits
        return self._bits
