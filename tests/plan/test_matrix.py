"""Matrix fan-out at load time: combinations as in GitHub Actions, ids, `${matrix.X}`, and the
problems a matrix can have, each reported once at the path of the plan as written."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.plan.loader import LoadedPlan, load_document
from engine.plan.matrix import MAX_EXPANSIONS, combinations_of, matrix_base
from engine.plan.problems import Problem, format_path
from tests.plan.plan_helpers import messages, plan_doc, step

Problems = Callable[..., list[Problem]]
Load = Callable[..., LoadedPlan]


def test_a_matrix_step_becomes_one_step_per_combination(load: Load) -> None:
    matrix = {"os": ["linux", "mac"], "py": ["3.11", 3.12]}
    loaded = load(
        plan_doc(
            step(
                "test",
                command="echo",
                args=["${matrix.os}", "py${matrix.py}"],
                env={"PY": "${matrix.py}"},
                matrix=matrix,
            )
        )
    )
    expanded = {s.id: s for s in loaded.plan.steps}
    assert list(expanded) == [
        "test[os=linux,py=3.11]", "test[os=linux,py=3.12]",
        "test[os=mac,py=3.11]", "test[os=mac,py=3.12]",
    ]  # fmt: skip
    one = expanded["test[os=mac,py=3.12]"]
    assert one.args == ("mac", "py3.12")
    assert one.env == {"PY": "3.12"}
    assert one.matrix is not None and one.matrix.step == "test"
    assert one.matrix.values == {"os": "mac", "py": "3.12"}


def test_include_and_exclude_follow_github_actions(load: Load) -> None:
    # The example of GitHub's "Expanding or adding matrix configurations", plus an exclude.
    matrix: dict[str, Any] = {
        "fruit": ["apple", "pear"],
        "animal": ["cat", "dog"],
        "exclude": [{"fruit": "pear", "animal": "cat"}],
        "include": [
            {"color": "green"},  # fits every combination
            {"color": "pink", "animal": "cat"},  # overwrites an added value only
            {"fruit": "apple", "shape": "circle"},
            {"fruit": "banana"},  # fits none: a combination of its own
            {"fruit": "banana", "animal": "cat"},
        ],
    }
    loaded = load(plan_doc(step("s", command="echo", args=["${matrix.color}"], matrix=matrix)))
    got = {s.id: (dict(s.matrix.values), s.args) for s in loaded.plan.steps if s.matrix}
    assert got == {
        "s[fruit=apple,animal=cat]": (
            {"fruit": "apple", "animal": "cat", "color": "pink", "shape": "circle"}, ("pink",)
        ),
        "s[fruit=apple,animal=dog]": (
            {"fruit": "apple", "animal": "dog", "color": "green", "shape": "circle"}, ("green",)
        ),
        "s[fruit=pear,animal=dog]": ({"fruit": "pear", "animal": "dog", "color": "green"},
                                     ("green",)),
        "s[fruit=banana]": ({"fruit": "banana"}, ("",)),  # a name others have is ''
        "s[fruit=banana,animal=cat]": ({"fruit": "banana", "animal": "cat"}, ("",)),
    }  # fmt: skip


def test_dependents_of_a_matrix_step_wait_for_every_expansion(load: Load) -> None:
    loaded = load(
        plan_doc(
            step("build"),
            step("test", "build", matrix={"n": [1, 2, 3]}),
            step("ship", "test", "build"),
        )
    )
    ship = loaded.graph.steps["ship"]
    assert ship.depends_on == ("test[n=1]", "test[n=2]", "test[n=3]", "build")
    assert loaded.graph.steps["test[n=2]"].depends_on == ("build",)


def test_a_dependent_may_read_the_output_of_one_expansion(load: Load) -> None:
    loaded = load(
        plan_doc(
            step("t", provides=["v"], matrix={"os": ["linux", "mac"]}),
            step("use", "t", command="echo", args=["${steps.t[os=mac].outputs.v}"]),
        )
    )
    assert loaded.graph.steps["use"].args == ("${steps.t[os=mac].outputs.v}",)


def test_values_that_would_break_an_id_or_a_file_name_are_escaped_in_the_id(load: Load) -> None:
    loaded = load(plan_doc(step("t", args=["${matrix.dir}"], matrix={"dir": ["src/a b", "x]"]})))
    assert [(s.id, s.args) for s in loaded.plan.steps] == [
        ("t[dir=src%2Fa%20b]", ("src/a b",)),
        ("t[dir=x%5D]", ("x]",)),
    ]
    assert matrix_base("t[dir=x%5D]") == "t"
    assert matrix_base("t") is None


def test_a_value_is_literal_text_not_a_variable_reference(load: Load) -> None:
    loaded = load(plan_doc(step("t", args=["${matrix.v}"], matrix={"v": ["${HOME}"]})))
    assert loaded.plan.steps[0].args == ("$${HOME}",)  # unescaped to ${HOME} when it runs


def test_numbers_and_booleans_take_their_json_spelling(load: Load) -> None:
    loaded = load(plan_doc(step("t", args=["${matrix.v}"], matrix={"v": [1, 2.0, 2.5, True]})))
    assert [s.args[0] for s in loaded.plan.steps] == ["1", "2", "2.5", "true"]


def test_max_parallel_and_fail_fast_reach_the_runtime_model(load: Load) -> None:
    loaded = load(plan_doc(step("t", matrix={"n": [1, 2], "max_parallel": 1, "fail_fast": True})))
    for expanded in loaded.plan.steps:
        assert expanded.matrix is not None
        assert (expanded.matrix.max_parallel, expanded.matrix.fail_fast) == (1, True)


def test_matrix_problems_are_reported_at_once(problems_of: Problems) -> None:
    found = problems_of(
        plan_doc(
            step("empty", matrix={}),
            step("none_left", matrix={"a": [1, 2], "exclude": [{"a": 1}, {"a": 2}]}),
            step("typo", args=["${matrix.oss}"], matrix={"os": ["linux"]}),
            step("bad_exclude", matrix={"os": ["linux"], "exclude": [{"cpu": "arm"}]}),
            step("plain", args=["${matrix.os}"]),
            step("huge", matrix={"a": list(range(101)), "b": list(range(100))}),
            step("twice", matrix={"include": [{"a": 1}, {"a": 1}]}),
        )
    )
    assert [(format_path(p.path), p.message) for p in found] == [
        ("steps[0].matrix", "empty matrix: give at least one dimension or include"),
        ("steps[1].matrix", "matrix leaves no combination: exclude removes them all"),
        (
            "steps[2].args[0]",
            'unknown matrix value ${matrix.oss} (the matrix of step "typo" has os)',
        ),
        (
            "steps[3].matrix.exclude[0].cpu",
            'exclude names "cpu", which is not a dimension of the matrix (os)',
        ),
        ("steps[4].args[0]", "${matrix.os} is used outside a step with a matrix"),
        (
            "steps[5].matrix",
            "matrix has 10,100 combinations before exclude, more than the 10,000 allowed",
        ),
        ("steps[6].matrix", 'matrix of step "twice" yields twice[a=1] twice'),
    ]


def test_a_mistake_in_a_matrix_step_is_reported_once_at_its_written_path(
    problems_of: Problems,
) -> None:
    found = problems_of(
        plan_doc(
            step("first"),
            step("t", "ghost", args=["${UNDEFINED}"], matrix={"n": list(range(50))}),
        )
    )
    assert [(format_path(p.path), p.message) for p in found] == [
        ("steps[1].depends_on[0]", 'step "t[n=0]" depends on unknown step "ghost"'),
        ("steps[1].args[0]", "undefined variable ${UNDEFINED} (declare it in vars or pass "
         "--var UNDEFINED=VALUE)"),
    ]  # fmt: skip


def test_a_whole_matrix_cannot_be_a_fallback_or_give_one_output(problems_of: Problems) -> None:
    found = problems_of(
        plan_doc(
            step("t", provides=["v"], matrix={"n": [1, 2]}),
            step("a", "t", args=["${steps.t.outputs.v}"], consumes=["t.v"]),
            step("b", fallback="t"),
            step("c", fallback="d", matrix={"n": [1]}),
            step("d"),
        )
    )
    assert messages(found) == [
        '"t" is a matrix step: read the output of one expansion, '
        "such as ${steps.t[n=1].outputs.NAME}",
        '"t" is a matrix step: read the output of one expansion, '
        "such as ${steps.t[n=1].outputs.NAME}",
        'fallback "t" is a matrix step; a fallback must be one step',
        'matrix step "c" cannot have a fallback',
    ]


def test_problems_carry_the_line_of_the_plan_as_written(problems_of: Problems) -> None:
    text = """\
{
  "name": "lines",
  "steps": [
    {"id": "a", "command": "true"},
    {
      "id": "t",
      "command": "echo",
      "depends_on": ["nope"],
      "matrix": {"n": [1, 2]}
    }
  ]
}
"""
    (found,) = problems_of(text)
    assert found.line == 8


# -- how many combinations: the product, minus the excluded, plus the includes that fit none -----

_VALUES = st.lists(st.integers(0, 5), min_size=1, max_size=4, unique=True)


@st.composite
def matrices(draw: st.DrawFn) -> tuple[dict[str, Any], int]:
    """A matrix and how many combinations it must yield."""
    names = draw(st.lists(st.sampled_from("abcd"), min_size=1, max_size=3, unique=True))
    dimensions = {name: draw(_VALUES) for name in names}
    product = [{}]  # type: list[dict[str, int]]
    for name, values in dimensions.items():
        product = [{**c, name: v} for c in product for v in values]
    excludes = draw(st.lists(st.sampled_from(product), max_size=len(product), unique_by=str))
    # Includes with a value no dimension has fit no combination: each adds one.
    new = draw(st.integers(0, 3))
    includes = [{names[0]: 100 + i, "extra": i} for i in range(new)]
    # An include that only adds a key to the remaining combinations adds none (with none left,
    # it would be one of its own).
    if len(excludes) < len(product):
        includes += draw(st.lists(st.just({"note": "x"}), max_size=2))
    expected = len(product) - len(excludes) + new
    assert expected == math.prod(map(len, dimensions.values())) - len(excludes) + new
    return {**dimensions, "exclude": excludes, "include": includes}, expected


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(matrices())
def test_count_is_product_minus_excludes_plus_new_includes(
    case: tuple[dict[str, Any], int],
) -> None:
    matrix, expected = case
    problems: list[Problem] = []
    found = combinations_of(matrix, ("matrix",), problems)
    if expected == 0:
        assert found == [] and len(problems) == 1
    else:
        assert len(found) == expected and problems == []
        assert len({tuple(sorted(c.items())) for c in found}) == expected  # all distinct


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(matrices())
def test_every_expansion_is_a_step_with_a_unique_id(
    tmp_path_factory: Any, case: tuple[dict[str, Any], int]
) -> None:
    matrix, expected = case
    if expected == 0:
        return
    document = plan_doc(step("t", matrix=matrix), step("after", "t"))
    loaded = load_document(document, "plan.json", Path(tmp_path_factory.getbasetemp()), {})
    ids = [s.id for s in loaded.plan.steps if s.matrix is not None]
    assert len(ids) == len(set(ids)) == expected
    assert loaded.graph.steps["after"].depends_on == tuple(ids)


def test_the_cap_counts_before_building_anything() -> None:
    problems: list[Problem] = []
    huge = {"a": list(range(10**4)), "b": list(range(10**4))}  # 10^8 combinations
    assert combinations_of(huge, ("m",), problems) == []
    assert "more than the 10,000 allowed" in problems[0].message
    exactly = {"a": list(range(100)), "b": list(range(100))}
    assert len(combinations_of(exactly, ("m",), [])) == MAX_EXPANSIONS


def test_a_script_step_and_a_plan_steps_vars_take_matrix_values(tmp_path: Path, load: Load) -> None:
    (tmp_path / "child.json").write_text(
        '{"name": "child", "vars": {"OS": null}, "steps": [{"id": "c", "command": "true"}]}'
    )
    loaded = load(
        plan_doc(
            {"id": "script", "run": "echo ${matrix.os}\necho done", "matrix": {"os": ["a", "b"]}},
            {"id": "sub", "plan": "child.json", "vars": {"OS": "${matrix.os}"},
             "matrix": {"os": ["a", "b"]}},
        )
    )  # fmt: skip
    steps = loaded.graph.steps
    assert steps["script[os=b]"].run == "echo b\necho done"
    assert dict(steps["sub[os=a]"].vars) == {"OS": "a"}
