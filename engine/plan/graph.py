"""The dependency graph of a list of steps: order, dependents, cycles and ancestry.

graphlib does the ordering and cycle detection in time linear in steps + edges. Ancestry, which
only output references and conditions need, is computed on first use as integer bitsets in
topological order, so a plan that never asks pays nothing for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from graphlib import CycleError, TopologicalSorter
from typing import Any, Generic, Protocol, TypeVar


class GraphNode(Protocol):
    """What the graph needs of a step: the pydantic model and the runtime dataclass both fit."""

    @property
    def id(self) -> str: ...

    @property
    def depends_on(self) -> Sequence[str]: ...


StepT = TypeVar("StepT", bound=GraphNode)

MAX_REPORTED_CYCLES = 10


class StepGraph(Generic[StepT]):
    """Steps keyed by id, with the edges that name known steps (unknown ones are reported
    elsewhere)."""

    def __init__(self, steps: Sequence[StepT]) -> None:
        self.steps: dict[str, StepT] = {}
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
                # graphlib lists each node before the node that depends on it; we print
                # dependents first.
                cycle = list(reversed(error.args[1]))[:-1]
                start = min(range(len(cycle)), key=lambda i: self._position[cycle[i]])
                cycle = [*cycle[start:], *cycle[:start], cycle[start]]  # from the earliest step
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
        ids = list(self.steps)
        # The set bits, found by str.find over the binary digits (least significant first).
        digits = bin(self._ancestor_bits().get(step_id, 0))[:1:-1]
        found: set[str] = set()
        index = digits.find("1")
        while index >= 0:
            found.add(ids[index])
            index = digits.find("1", index + 1)
        return found

    def ancestor_set(self, step_id: str, extra: AbstractSet[str] = frozenset()) -> AncestorSet:
        """The ancestors of `step_id` (and `extra`): a set that answers `in` without being built."""
        return AncestorSet(self, step_id, extra)

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
        # Over strongly connected components rather than a topological order, so that ancestry
        # stays defined (a step in a cycle is its own ancestor) while a cycle is being reported.
        if self._bits is None:
            positions = self._position
            bits: dict[str, int] = {}
            for component in self._components():
                members = set(component)
                value = 0
                for sid in component:
                    for dep in self.deps[sid]:
                        if dep in members:
                            value |= 1 << positions[dep]
                        else:
                            value |= bits[dep] | (1 << positions[dep])
                for sid in component:
                    bits[sid] = value
            self._bits = bits
        return self._bits

    def _components(self) -> list[list[str]]:
        """Strongly connected components, dependencies first (Tarjan's algorithm, iterative)."""
        index: dict[str, int] = {}
        low: dict[str, int] = {}
        stack: list[str] = []
        on_stack: set[str] = set()
        found: list[list[str]] = []
        for root in self.deps:
            if root in index:
                continue
            index[root] = low[root] = len(index)
            stack.append(root)
            on_stack.add(root)
            work = [(root, iter(self.deps[root]))]
            while work:
                node, children = work[-1]
                for child in children:
                    if child not in index:
                        index[child] = low[child] = len(index)
                        stack.append(child)
                        on_stack.add(child)
                        work.append((child, iter(self.deps[child])))
                        break
                    if child in on_stack:
                        low[node] = min(low[node], index[child])
                else:
                    work.pop()
                    if work:
                        parent = work[-1][0]
                        low[parent] = min(low[parent], low[node])
                    if low[node] == index[node]:
                        component: list[str] = []
                        while True:
                            member = stack.pop()
                            on_stack.discard(member)
                            component.append(member)
                            if member == node:
                                break
                        found.append(component)
        return found


class AncestorSet(AbstractSet[str]):
    """A step's ancestors for membership tests; checking a condition of each of 10,000 steps must
    not build 10,000 sets of up to 10,000 ids."""

    def __init__(self, graph: StepGraph[Any], step_id: str, extra: AbstractSet[str]) -> None:
        self._graph = graph
        self._step_id = step_id
        self._extra = extra

    def __contains__(self, item: object) -> bool:
        if not isinstance(item, str):
            return False
        return item in self._extra or self._graph.is_ancestor(item, self._step_id)

    def __iter__(self) -> Iterator[str]:
        return iter(self._graph.ancestors(self._step_id) | set(self._extra))

    def __len__(self) -> int:
        return len(self._graph.ancestors(self._step_id) | set(self._extra))
