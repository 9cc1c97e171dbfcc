"""A plan's concurrency group and pools: substituted, and refused when they make no sense."""

from __future__ import annotations

from collections.abc import Callable

from engine.plan.loader import LoadedPlan
from engine.plan.problems import Problem, format_path
from tests.plan.plan_helpers import plan_doc, step

Problems = Callable[..., list[Problem]]
Load = Callable[..., LoadedPlan]


def test_a_group_takes_variables_and_pools_reach_the_runtime_plan(load: Load) -> None:
    document = plan_doc(
        step("a", pool="db"), vars={"BRANCH": "main"},
        concurrency_group="release-${BRANCH}", pools={"db": 2}, cancel_in_progress=True,
    )  # fmt: skip
    loaded = load(document, BRANCH="dev")
    plan = loaded.plan
    assert (plan.concurrency_group, plan.cancel_in_progress) == ("release-dev", True)
    assert dict(plan.pools) == {"db": 2} and plan.steps[0].pool == "db"


def test_nonsense_is_refused_with_its_path(problems_of: Problems) -> None:
    document = plan_doc(
        step("a", pool="dbx"), step("b", pool="db"), on_exit=[step("c", pool="gpu")],
        secrets=["TOKEN"], pools={"db": 1},
        concurrency_group="g-${TOKEN}-${steps.a.outputs.x}", cancel_in_progress=True,
    )  # fmt: skip
    found = problems_of(document)
    assert sorted((format_path(p.path), p.message) for p in found) == [
        (
            "concurrency_group",
            "concurrency_group is decided before any step runs: it cannot read outputs "
            "(steps.a.outputs.x)",
        ),
        (
            "concurrency_group",
            'secret "TOKEN" cannot name a concurrency group: the name is shown and stored in '
            "the ledger as it is",
        ),
        ("on_exit[0].pool", 'pool "gpu" is not declared in the plan\'s pools (declared: "db")'),
        ("steps[0].pool", 'pool "dbx" is not declared in the plan\'s pools (declared: "db")'),
    ]


def test_cancel_in_progress_needs_a_group(problems_of: Problems) -> None:
    found = problems_of(plan_doc(step("a"), cancel_in_progress=True))
    assert [(format_path(p.path), p.message) for p in found] == [
        (
            "cancel_in_progress",
            "cancel_in_progress needs a concurrency_group: it cancels the group's other runs",
        )
    ]


def test_schema_refuses_a_pool_of_size_zero_and_a_bad_pool_name(problems_of: Problems) -> None:
    found = problems_of(plan_doc(step("a", pool="d b"), pools={"db": 0}))
    assert {format_path(p.path) for p in found} >= {"pools.db", "steps[0].pool"}


def test_a_circuit_needs_positive_durations_with_units(problems_of: Problems) -> None:
    bad = {"failures": 0, "within": "-5m", "open_for": "10", "key": ""}
    found = problems_of(plan_doc(step("a", circuit=bad)))
    paths = {format_path(p.path) for p in found}
    assert paths >= {
        "steps[0].circuit.failures", "steps[0].circuit.within", "steps[0].circuit.open_for",
        "steps[0].circuit.key",
    }  # fmt: skip


def test_a_circuit_reaches_the_runtime_plan_in_seconds(load: Load) -> None:
    circuit = {"failures": 3, "within": "1h30m", "open_for": "90s"}
    plan = load(plan_doc(step("a", circuit=circuit))).plan
    spec = plan.steps[0].circuit
    assert spec is not None and (spec.failures, spec.key) == (3, None)
    assert (spec.within_sec, spec.open_for_sec) == (5400.0, 90.0)


def test_a_group_that_is_empty_once_substituted_is_refused(
    load: Load, problems_of: Problems
) -> None:
    # An empty BRANCH would have put every such run, of any plan, in one group named "".
    document = plan_doc(step("a"), vars={"BRANCH": "main"}, concurrency_group="${BRANCH}")
    assert load(document).plan.concurrency_group == "main"
    for value in ("", "  "):
        found = problems_of(document, BRANCH=value)
        assert [format_path(p.path) for p in found] == ["concurrency_group"]
        assert "empty once variables are substituted" in found[0].message


def test_a_circuit_key_takes_variables_not_outputs_or_secrets(
    load: Load, problems_of: Problems
) -> None:
    circuit = {"failures": 1, "within": "1m", "open_for": "1m"}
    document = plan_doc(step("a", circuit={**circuit, "key": "api-${ENV}"}), vars={"ENV": "prod"})
    assert load(document, ENV="dev").plan.steps[0].circuit.key == "api-dev"  # type: ignore[union-attr]
    bad = plan_doc(
        step("p", provides=["o"]),
        step("a", "p", circuit={**circuit, "key": "${steps.p.outputs.o}"}),
        step("b", circuit={**circuit, "key": "k-${T}"}),
        secrets=["T"],
    )
    found = problems_of(bad)
    assert [format_path(p.path) for p in found] == ["steps[1].circuit.key", "steps[2].circuit.key"]
    assert all("no outputs, no secrets" in p.message for p in found)
