"""StepGraph: order, dependents, ancestry and cycles, in time linear in steps + edges."""

from __future__ import annotations

import random
import time
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.plan.graph import MAX_REPORTED_CYCLES, StepGraph
from engine.plan.loader import load_document
from engine.plan.model import Step


def graph(edges: dict[str, list[str]]) -> StepGraph:
    return StepGraph([Step(id=sid, command="true", depends_on=deps) for sid, deps in edges.items()])


DIAMOND = {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"], "lone": []}


def test_order_dependents_and_descendants() -> None:
    g = graph(DIAMOND)
    order = g.order()
    assert all(order.index(dep) < order.index(sid) for sid, deps in DIAMOND.items() for dep in deps)
    assert g.dependents == {"a": ["b", "c"], "b": ["d"], "c": ["d"], "d": [], "lone": []}
    assert g.descendants(["a"]) == {"b", "c", "d"}
    assert g.descendants(["d", "lone"]) == set()


def test_ancestry() -> None:
    g = graph(DIAMOND)
    assert g.ancestors("d") == {"a", "b", "c"}
    assert g.ancestors("a") == set()
    assert g.is_ancestor("a", "d")
    assert not g.is_ancestor("d", "a")
    assert not g.is_ancestor("b", "c")
    assert not g.is_ancestor("ghost", "d")
    view = g.ancestor_set("d", frozenset({"extra"}))
    assert "b" in view and "extra" in view and "lone" not in view and 3 not in view
    assert set(view) == {"a", "b", "c", "extra"} and len(view) == 4


def test_unknown_dependencies_are_left_out_of_the_graph() -> None:
    g = graph({"a": ["ghost"], "b": ["a"]})
    assert g.deps == {"a": (), "b": ("a",)}


def test_duplicate_ids_keep_the_first_step() -> None:
    g = StepGraph([Step(id="a", command="first"), Step(id="a", command="second")])
    assert g.steps["a"].command == "first"


def test_cycles_each_once_from_their_earliest_step() -> None:
    g = graph(
        {"p": [], "x": ["z"], "y": ["x", "p"], "z": ["y"], "s": ["s"], "m": ["n"], "n": ["m"]}
    )
    assert sorted(g.cycles()) == [["m", "n", "m"], ["s", "s"], ["x", "z", "y", "x"]]


def test_ancestry_is_defined_in_a_cyclic_graph() -> None:
    g = graph({"a": ["c"], "b": ["a"], "c": ["b"], "d": ["c"], "e": []})
    assert g.ancestors("d") == {"a", "b", "c"}
    assert g.ancestors("a") == {"a", "b", "c"}  # in a cycle, a step is its own ancestor
    assert g.ancestors("e") == set()


def test_at_most_so_many_cycles_are_reported() -> None:
    edges = {
        f"{kind}{i}": [f"{'b' if kind == 'a' else 'a'}{i}"] for i in range(30) for kind in "ab"
    }
    assert len(graph(edges).cycles()) == MAX_REPORTED_CYCLES


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 11), max_size=3), min_size=1, max_size=12))
def test_ancestors_agree_with_a_plain_search(raw: list[list[int]]) -> None:
    n = len(raw)
    edges = {f"s{i}": sorted({f"s{d % n}" for d in deps}) for i, deps in enumerate(raw)}
    g = graph(edges)
    for sid in edges:
        seen: set[str] = set()
        stack = list(edges[sid])
        while stack:
            dep = stack.pop()
            if dep not in seen:
                seen.add(dep)
                stack.extend(edges[dep])
        assert g.ancestors(sid) == seen
        assert all(g.is_ancestor(other, sid) == (other in seen) for other in edges)
    if not g.cycles():
        order = g.order()
        assert all(order.index(d) < order.index(s) for s, deps in edges.items() for d in deps)


def _plan(n: int, seed: int = 7) -> dict[str, object]:
    rng = random.Random(seed)
    steps = []
    for i in range(n):
        deps = sorted({f"s{rng.randrange(i)}" for _ in range(3)}) if i else []
        item: dict[str, object] = {
            "id": f"s{i}",
            "command": "true",
            "depends_on": deps,
            "provides": ["o"],
        }
        if deps:
            item["args"] = [f"${{steps.{deps[0]}.outputs.o}}"]
            item["condition"] = f"steps.{deps[-1]}.status == 'succeeded'"
        steps.append(item)
    return {"name": "big", "steps": steps}


def _load_seconds(n: int) -> float:
    document = _plan(n)
    started = time.perf_counter()
    load_document(document, "big.json", Path("."), {})
    return time.perf_counter() - started


def test_checks_scale_linearly() -> None:
    """A guard against quadratic checks (bench/bench_validate.py has the real figures): four
    times the steps may cost at most eight times as long."""
    small = min(_load_seconds(1000) for _ in range(2))
    large = min(_load_seconds(4000) for _ in range(2))
    assert large < 8 * small + 0.05, (small, large)
