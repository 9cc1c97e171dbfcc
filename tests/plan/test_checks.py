"""Whole-plan checks: every problem kind is reported, all at once, with its JSON path and line."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from engine.plan.loader import LoadedPlan
from engine.plan.problems import Problem, format_path
from tests.plan.plan_helpers import messages, plan_doc, step

Problems = Callable[..., list[Problem]]
Load = Callable[..., LoadedPlan]

# A hand-written plan with one problem of each kind on a known line.
BROKEN = """\
{
  "name": "broken",
  "vars": {"REQUIRED": null, "GREETING": "hi"},
  "secrets": ["TOKEN", "TOKEN"],
  "steps": [
    {"id": "a", "command": "echo", "depends_on": ["c"]},
    {"id": "b", "command": "echo", "depends_on": ["a"]},
    {"id": "c", "command": "echo", "depends_on": ["b"]},
    {"id": "a", "command": "echo"},
    {"id": "d", "command": "echo", "depends_on": ["ghost"]},
    {
      "id": "e",
      "command": "echo ${TOKEN}",
      "args": ["${UNDEF1}", "${UNDEF2} ${GREETING}"],
      "consumes": ["d.out"],
      "secrets": ["NOT_DECLARED"]
    },
    {
      "id": "f",
      "command": "echo",
      "args": ["${steps.e.outputs.x}"],
      "fallback": "nowhere",
      "condition": "steps.a.status == 'succeeded' and nope()"
    },
    {"id": "x", "command": "echo", "depends_on": ["y"]},
    {"id": "y", "command": "echo", "depends_on": ["x"]}
  ]
}
"""

EXPECTED = [
    (3, "vars", "--var NOPE: the plan has no variable NOPE"),
    (3, "vars.REQUIRED", "variable REQUIRED has no default; pass --var REQUIRED=VALUE"),
    (4, "secrets[1]", 'secret "TOKEN" is declared twice'),
    (6, "steps[0].depends_on", "dependency cycle: a -> c -> b -> a"),
    (9, "steps[3].id", 'duplicate step id "a" (first at steps[0].id)'),
    (10, "steps[4].depends_on[0]", 'step "d" depends on unknown step "ghost"'),
    (13, "steps[5].command", 'secret "TOKEN" cannot be substituted into argv'),
    (14, "steps[5].args[0]", "undefined variable ${UNDEF1}"),
    (14, "steps[5].args[1]", "undefined variable ${UNDEF2}"),
    (15, "steps[5].consumes[0]", 'step "e" reads an output of "d" but does not depend on it'),
    (16, "steps[5].secrets[0]", 'lists secret "NOT_DECLARED", which the plan does not declare'),
    (21, "steps[6].args[0]", 'step "f" reads an output of "e" but does not depend on it'),
    (22, "steps[6].fallback", 'step "f" names unknown fallback "nowhere"'),
    (23, "steps[6].condition", "bad expression: unknown function 'nope'"),
    (25, "steps[7].depends_on", "dependency cycle: x -> y -> x"),
]


def test_every_problem_at_once_with_path_and_line(problems_of: Problems) -> None:
    found = problems_of(BROKEN, NOPE="1")
    rows = [(p.line, format_path(p.path), p.message) for p in found]
    assert len(rows) == len(EXPECTED), "\n".join(map(str, rows))
    for (line, path, message), (want_line, want_path, want_text) in zip(
        rows, EXPECTED, strict=True
    ):
        assert (line, path) == (want_line, want_path), (line, path, message)
        assert want_text in message, message


def test_expression_problems_carry_their_column(problems_of: Problems) -> None:
    found = problems_of(BROKEN, NOPE="1")
    condition = next(p for p in found if p.path[-1] == "condition")
    assert condition.column == "steps.a.status == 'succeeded' and ".__len__() + 1
    assert condition.render("plan.json").endswith(f"(column {condition.column})")


def test_a_valid_plan_has_no_problems(load: Load) -> None:
    loaded = load(plan_doc(step("a"), step("b", "a"), step("c", "a"), step("d", "b", "c")))
    assert loaded.graph.order()[0] == "a"
    assert loaded.graph.order()[-1] == "d"


# -- ids and dependencies -------------------------------------------------------------------


def test_duplicate_ids_across_steps_and_hooks(problems_of: Problems) -> None:
    found = problems_of(plan_doc(step("a"), step("b"), on_exit=[step("a")], on_success=[step("b")]))
    assert messages(found) == [
        'duplicate step id "a" (first at steps[0].id)',  # on_exit comes first in the file
        'duplicate step id "b" (first at steps[1].id)',
    ]


def test_unknown_dependency_names_both_steps(problems_of: Problems) -> None:
    (problem,) = problems_of(plan_doc(step("build"), step("test", "build", "biuld")))
    assert problem.message == 'step "test" depends on unknown step "biuld"'
    assert format_path(problem.path) == "steps[1].depends_on[1]"


def test_a_hook_cannot_depend_on_a_main_step(problems_of: Problems) -> None:
    (problem,) = problems_of(plan_doc(step("a"), on_failure=[step("h", "a")]))
    assert problem.message == 'step "h" depends on "a", which is not in on_failure'


def test_hooks_form_their_own_dag(load: Load, problems_of: Problems) -> None:
    load(plan_doc(step("a"), on_exit=[step("h1"), step("h2", "h1")]))
    found = problems_of(plan_doc(step("a"), on_exit=[step("h1", "h2"), step("h2", "h1")]))
    assert messages(found) == ["dependency cycle: h1 -> h2 -> h1"]


@pytest.mark.parametrize(
    "steps, cycles",
    [
        ([step("a", "a")], ["a -> a"]),
        ([step("a", "b"), step("b", "a")], ["a -> b -> a"]),
        ([step("a", "b"), step("b", "c"), step("c", "a")], ["a -> b -> c -> a"]),
        ([step("c", "a"), step("a", "b"), step("b", "c")], ["c -> a -> b -> c"]),
        (
            [
                step("a", "b"),
                step("b", "a"),
                step("ok"),
                step("x", "y"),
                step("y", "z", "ok"),
                step("z", "x"),
            ],
            ["a -> b -> a", "x -> y -> z -> x"],
        ),
    ],
)
def test_cycles_are_printed_from_their_first_step(
    problems_of: Problems, steps: list[dict[str, Any]], cycles: list[str]
) -> None:
    found = problems_of(plan_doc(*steps))
    assert messages(found) == [f"dependency cycle: {cycle}" for cycle in cycles]


def test_a_cycle_does_not_hide_or_crash_the_other_checks(problems_of: Problems) -> None:
    document = plan_doc(
        step("a", "b", provides=["o"]),
        step("b", "a"),
        step("c", "b", args=["${steps.a.outputs.o}", "${steps.a.outputs.nope}"]),
        step("d", condition="steps.c.status == 'succeeded'"),
    )
    assert messages(problems_of(document)) == [
        "dependency cycle: a -> b -> a",
        'step "a" does not provide output "nope" (its provides: o)',
        "bad expression: step 'c' does not finish before this step, so a condition cannot see it; "
        "add it to depends_on",
    ]


# -- fallbacks -------------------------------------------------------------------------------


def test_a_fallback_is_a_standby_step(load: Load) -> None:
    loaded = load(
        plan_doc(step("deploy", fallback="rollback"), step("rollback"), step("after", "deploy"))
    )
    assert loaded.plan.steps[0].fallback == "rollback"


@pytest.mark.parametrize(
    "steps, message",
    [
        ([step("a", fallback="a")], 'step "a" cannot be its own fallback'),
        ([step("a", fallback="zz")], 'step "a" names unknown fallback "zz" (not in steps)'),
        (
            [step("a", fallback="c"), step("b", fallback="c"), step("c")],
            '"c" is already the fallback of "a"',
        ),
        (
            [step("x"), step("a", fallback="c"), step("c", "x")],
            'fallback "c" must have no depends_on: it takes the place of "a"',
        ),
        (
            [step("a", fallback="c"), step("c"), step("d", "c")],
            'fallback "c" cannot be a dependency of other steps (d); depend on "a" instead',
        ),
    ],
)
def test_fallback_rules(problems_of: Problems, steps: list[dict[str, Any]], message: str) -> None:
    (problem,) = problems_of(plan_doc(*steps))
    assert problem.message == message
    assert problem.path[-1] == "fallback"


def test_a_hook_fallback_must_be_in_the_same_hook_list(problems_of: Problems) -> None:
    (problem,) = problems_of(plan_doc(step("a"), on_exit=[step("h", fallback="a")]))
    assert problem.message == 'step "h" names unknown fallback "a" (not in on_exit)'


# -- outputs ---------------------------------------------------------------------------------


def test_outputs_of_ancestors_are_readable(load: Load) -> None:
    document = plan_doc(
        step("a", provides=["sha", "notes"]),
        step("b", "a"),
        step(
            "c",
            "b",
            args=["${steps.a.outputs.sha}"],
            consumes=["a.notes"],
            env={"N": "${steps.a.outputs.notes}"},
        ),
    )
    loaded = load(document)
    assert loaded.plan.steps[2].args == ("${steps.a.outputs.sha}",)  # substituted at run time


def test_consumes_without_a_providing_ancestor(problems_of: Problems) -> None:
    document = plan_doc(
        step("a", provides=["sha"]),
        step("b"),
        step("c", "a", consumes=["b.sha", "a.tag", "zz.sha"]),
    )
    assert messages(problems_of(document)) == [
        'step "c" reads an output of "b" but does not depend on it (add it to depends_on)',
        'step "a" does not provide output "tag" (its provides: sha)',
        'step "c" reads output "sha" of unknown step "zz"',
    ]


@pytest.mark.parametrize("where", ["command", "args", "cwd", "env"])
def test_output_references_everywhere_are_checked(problems_of: Problems, where: str) -> None:
    ref = "${steps.b.outputs.sha}"
    value: Any = {"command": "echo " + ref, "args": [ref], "cwd": ref, "env": {"X": ref}}[where]
    (problem,) = problems_of(
        plan_doc(step("a", provides=["sha"]), step("b"), step("c", "a", **{where: value}))
    )
    assert (
        problem.message
        == 'step "c" reads an output of "b" but does not depend on it (add it to depends_on)'
    )
    assert problem.path[:3] == ("steps", 2, where)


def test_a_step_cannot_read_its_own_or_a_dependents_output(problems_of: Problems) -> None:
    document = plan_doc(
        step("a", provides=["o"], args=["${steps.a.outputs.o}"]), step("b", "a", provides=["p"])
    )
    document["steps"][0]["env"] = {"P": "${steps.b.outputs.p}"}
    assert messages(problems_of(document)) == [
        'step "a" reads an output of "a" but does not depend on it (add it to depends_on)',
        'step "a" reads an output of "b" but does not depend on it (add it to depends_on)',
    ]


def test_hooks_may_read_any_main_steps_output(load: Load, problems_of: Problems) -> None:
    load(plan_doc(step("a", provides=["o"]), on_failure=[step("h", args=["${steps.a.outputs.o}"])]))
    (problem,) = problems_of(plan_doc(step("a"), on_exit=[step("h", consumes=["a.o"])]))
    assert problem.message == 'step "a" does not provide output "o" (its provides: none)'


def test_a_main_step_cannot_read_a_hooks_output(problems_of: Problems) -> None:
    document = plan_doc(
        step("a", args=["${steps.h.outputs.o}"]), on_exit=[step("h", provides=["o"])]
    )
    (problem,) = problems_of(document)
    assert problem.message == 'step "a" reads output "o" of unknown step "h"'


# -- secrets ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields, place",
    [
        ({"command": "curl -H ${TOKEN}"}, "argv"),
        ({"args": ["--token=${TOKEN}"]}, "argv"),
        ({"cwd": "/tmp/${TOKEN}"}, "cwd"),
        ({"env": {"AUTH": "Bearer ${TOKEN}"}}, "env"),
    ],
)
def test_secret_references_are_rejected(
    problems_of: Problems, fields: dict[str, Any], place: str
) -> None:
    (problem,) = problems_of(plan_doc(step("a", secrets=["TOKEN"], **fields), secrets=["TOKEN"]))
    assert problem.message.startswith(f'secret "TOKEN" cannot be substituted into {place}:')


def test_secrets_as_environment_variables_are_fine(load: Load) -> None:
    document = plan_doc(
        step(
            "a",
            command='curl -H "Authorization: $TOKEN" https://x',
            shell=True,
            secrets=["TOKEN", "KEY"],
        ),
        secrets=["TOKEN", {"name": "KEY", "from_env": "API_KEY", "optional": True}],
    )
    loaded = load(document)
    assert [s.source for s in loaded.plan.secret_specs] == ["TOKEN", "API_KEY"]


def test_secret_declared_twice_as_name_and_object(problems_of: Problems) -> None:
    (problem,) = problems_of(plan_doc(secrets=["T", {"name": "T", "from_env": "X"}]))
    assert problem.message == 'secret "T" is declared twice'


# -- expressions -----------------------------------------------------------------------------


def test_expressions_are_checked_in_condition_and_skip_if(problems_of: Problems) -> None:
    document = plan_doc(
        step("a"),
        step("b", "a", condition="steps.a.status =="),
        step("c", "a", skip_if=["vars.NOPE == 'x'", "steps.zz.status == 'failed'"]),
        step("d", skip_if="steps.a.exit_code == 0"),
    )
    found = problems_of(document)
    paths = [format_path(p.path) for p in found]
    assert paths == [
        "steps[1].condition",
        "steps[2].skip_if[0]",
        "steps[2].skip_if[1]",
        "steps[3].skip_if",
    ]
    assert all(p.message.startswith("bad expression: ") for p in found)
    assert all(p.column is not None for p in found)
    assert "'NOPE'" in found[1].message
    assert "'zz'" in found[2].message
    assert "does not finish before this step" in found[3].message


def test_hook_conditions_may_name_any_main_step(load: Load) -> None:
    load(
        plan_doc(
            step("a"),
            step("b"),
            on_exit=[step("h", condition="steps.b.status == 'failed' or always()")],
        )
    )


def test_globals_env_cannot_read_outputs_or_secrets(problems_of: Problems) -> None:
    document = plan_doc(
        step("a", provides=["o"]),
        secrets=["TOKEN"],
        globals={"env": {"OUT": "${steps.a.outputs.o}", "AUTH": "Bearer ${TOKEN}"}},
    )
    found = problems_of(document)
    assert [format_path(p.path) for p in found] == ["globals.env.OUT", "globals.env.AUTH"]
    assert found[0].message.startswith("globals.env cannot read outputs (steps.a.outputs.o)")
    assert found[1].message.startswith('secret "TOKEN" cannot be substituted into globals.env')


@pytest.mark.parametrize(
    ("fields", "where", "message"),
    [
        ({"cache": {"max_age": "0s"}}, "steps[0].cache.max_age", "max_age is zero"),
        ({"cache": {"max_age": "0h0m"}}, "steps[0].cache.max_age", "max_age is zero"),
        ({"cache": {"max_age": "53w"}}, "steps[0].cache.max_age", "more than a year"),
        (
            {"circuit": {"failures": 2, "within": "0m", "open_for": "1m"}},
            "steps[0].circuit.within",
            "within is zero",
        ),
        (
            {"circuit": {"failures": 2, "within": "1m", "open_for": "0.0s"}},
            "steps[0].circuit.open_for",
            "open_for is zero",
        ),
    ],
)
def test_a_duration_with_units_is_positive_and_bounded(
    problems_of: Problems, fields: dict[str, Any], where: str, message: str
) -> None:
    # As a number of seconds, 0 and more than a year are schema errors; written with units too.
    found = problems_of(plan_doc(step("a", **fields)))
    assert [(format_path(p.path), message in p.message) for p in found] == [(where, True)]


def test_a_secret_cannot_be_part_of_a_cache_key(problems_of: Problems) -> None:
    # Its value would be kept in the ledger as an unsalted 64-bit digest, open to guessing.
    document = plan_doc(
        step("a", secrets=["TOKEN"], cache={"env": ["CC", "TOKEN"]}), secrets=["TOKEN"]
    )
    found = problems_of(document)
    assert [format_path(p.path) for p in found] == ["steps[0].cache.env[1]"]
    assert 'secret "TOKEN" cannot be part of a cache key' in found[0].message


def test_cache_inputs_take_variables_and_refuse_what_they_cannot_use(
    load: Load, problems_of: Problems
) -> None:
    # A reference left as it was written globbed no file, and the key never changed.
    document = plan_doc(
        step("p", provides=["o"]),
        step("a", "p", cache={"inputs": ["${SRC}/*.c", "${SRC:-x}/**/*.h"]}),
        vars={"SRC": "src"},
    )
    loaded = load(document)
    assert loaded.plan.steps[1].cache is not None
    assert loaded.plan.steps[1].cache.inputs == ("src/*.c", "src/**/*.h")
    assert load(document, SRC="lib").plan.steps[1].cache.inputs[0] == "lib/*.c"  # type: ignore[union-attr]
    escaping = problems_of(document, SRC="..")
    assert [format_path(p.path) for p in escaping] == [
        "steps[1].cache.inputs[0]", "steps[1].cache.inputs[1]",
    ]  # fmt: skip
    bad = plan_doc(
        step("p", provides=["o"]),
        step("a", "p", secrets=["T"], cache={"inputs": ["${steps.p.outputs.o}/x", "${T}/y"]}),
        secrets=["T"],
    )
    found = problems_of(bad)
    assert [format_path(p.path) for p in found] == [
        "steps[1].cache.inputs[0]", "steps[1].cache.inputs[1]",
    ]  # fmt: skip
    assert all("may use variables, not outputs or secrets" in p.message for p in found)
