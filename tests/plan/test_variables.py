"""`${VAR}`, `${VAR:-default}`, `$${` and `${steps.ID.outputs.NAME}`, at load and at run time."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.plan.loader import LoadedPlan
from engine.plan.problems import Problem, format_path
from engine.plan.variables import (
    BadRef,
    OutputFieldError,
    OutputRef,
    VarRef,
    escape,
    references,
    substitute_outputs,
    substitute_vars,
    var_text,
)
from tests.plan.plan_helpers import messages, plan_doc, step

Problems = Callable[..., list[Problem]]
Load = Callable[..., LoadedPlan]


def test_vars_are_substituted_in_command_args_cwd_and_env(load: Load) -> None:
    document = plan_doc(
        step(
            "a",
            command="${TOOL}",
            args=["--branch=${BRANCH}", "${BRANCH}-${BRANCH}"],
            cwd="work/${BRANCH}",
            env={"B": "${BRANCH}"},
        ),
        vars={"TOOL": "git", "BRANCH": "main"},
        globals={"env": {"G": "on ${BRANCH}"}},
    )
    plan = load(document).plan
    a = plan.steps[0]
    assert (a.command, a.args, a.cwd, a.env) == (
        "git",
        ("--branch=main", "main-main"),
        "work/main",
        {"B": "main"},
    )
    assert plan.globals.env == {"G": "on main"}


def test_vars_are_not_substituted_elsewhere(load: Load) -> None:
    document = plan_doc(
        step("a", name="${X}", description="${X}", condition="vars.X == '${X}'"),
        vars={"X": "1"},
        description="${X}",
    )
    plan = load(document).plan
    assert plan.steps[0].name == plan.steps[0].description == plan.description == "${X}"
    assert plan.steps[0].condition == "vars.X == '${X}'"


def test_hooks_are_substituted_too(load: Load) -> None:
    plan = load(plan_doc(step("a"), on_exit=[step("h", args=["${X}"])], vars={"X": "1"})).plan
    assert plan.on_exit[0].args == ("1",)


def test_var_flag_overrides_the_default(load: Load) -> None:
    loaded = load(plan_doc(step("a", args=["${X}"]), vars={"X": "default"}), X="given")
    assert loaded.plan.steps[0].args == ("given",)
    assert loaded.vars == {"X": "given"}


def test_defaults_of_other_json_types_as_text(load: Load) -> None:
    document = plan_doc(step("a", args=["${A}", "${B}", "${C}", "${D}", "${E}"]),
                        vars={"A": True, "B": False, "C": 3, "D": 2.5, "E": 4.0})  # fmt: skip
    assert load(document).plan.steps[0].args == ("true", "false", "3", "2.5", "4")


def test_default_syntax(load: Load) -> None:
    args = ["${WORKDIR:-/tmp/demo}", "${EMPTY:-}", "${X:-unused}", "${A:-b:-c}"]
    document = plan_doc(step("a", args=args), vars={"X": "set"})
    assert load(document).plan.steps[0].args == ("/tmp/demo", "", "set", "b:-c")
    assert load(document, WORKDIR="/w").plan.steps[0].args[0] == "/w"


def test_escape_is_kept_until_run_time(load: Load) -> None:
    document = plan_doc(
        step("a", command="echo $${HOME} $HOME $${X} ${X}", shell=True), vars={"X": "x"}
    )
    command = load(document).plan.steps[0].command
    assert command == "echo $${HOME} $HOME $${X} x"
    assert substitute_outputs(command, {}) == "echo ${HOME} $HOME ${X} x"


def test_a_value_holding_a_reference_is_not_expanded_again(load: Load) -> None:
    document = plan_doc(
        step("a", provides=["o"]), step("b", "a", args=["${X}"]), vars={"X": "${steps.a.outputs.o}"}
    )
    arg = load(document).plan.steps[1].args[0]
    assert substitute_outputs(arg, {("a", "o"): "SECRET"}) == "${steps.a.outputs.o}"


def test_undefined_variables_are_all_named(problems_of: Problems) -> None:
    a = step("a", command="${ONE}", args=["${TWO} ${THREE}"], cwd="${FOUR}", env={"E": "${FIVE}"})
    document = plan_doc(a, globals={"env": {"G": "${SIX}"}})
    found = problems_of(document)
    names = ["ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX"]
    assert sorted(messages(found)) == sorted(
        f"undefined variable ${{{name}}} (declare it in vars or pass --var {name}=VALUE)"
        for name in names
    )
    assert {format_path(p.path) for p in found} == {
        "steps[0].command", "steps[0].args[0]", "steps[0].cwd", "steps[0].env.E", "globals.env.G",
    }  # fmt: skip


def test_required_vars_must_be_given(problems_of: Problems, load: Load) -> None:
    document = plan_doc(step("a", args=["${BRANCH}"]), vars={"BRANCH": None, "OTHER": None})
    assert messages(problems_of(document)) == [
        "variable BRANCH has no default; pass --var BRANCH=VALUE",
        "variable OTHER has no default; pass --var OTHER=VALUE",
    ]
    assert load(document, BRANCH="main", OTHER="").plan.steps[0].args == ("main",)


def test_a_var_flag_the_plan_does_not_know_is_an_error(problems_of: Problems, load: Load) -> None:
    document = plan_doc(step("a", args=["${USED:-x}"]), vars={"DECLARED": "1"})
    (problem,) = problems_of(document, TYPO="1")
    assert problem.message == "--var TYPO: the plan has no variable TYPO"
    assert load(document, USED="1", DECLARED="2").vars == {"DECLARED": "2", "USED": "1"}


def test_bad_references(problems_of: Problems) -> None:
    document = plan_doc(step("a", args=["${}", "${1X}", "${A B}", "${steps.a.outputs}", "${X:=y}"]))
    found = problems_of(document)
    assert len(found) == 5
    assert all(p.message.startswith("bad reference ${") for p in found)


def test_secret_names_are_not_undefined_variables(problems_of: Problems) -> None:
    (problem,) = problems_of(
        plan_doc(step("a", args=["${TOKEN}"], secrets=["TOKEN"]), secrets=["TOKEN"])
    )
    assert "cannot be substituted" in problem.message


# -- the tokenizer itself ----------------------------------------------------------------------


def test_references() -> None:
    text = "${A} $${B} ${C:-d} ${steps.x-1.outputs.out} ${steps.bad} $A ${"
    assert list(references(text)) == [
        VarRef("A", None),
        VarRef("C", "d"),
        OutputRef("x-1", "out"),
        BadRef("steps.bad"),
    ]


def test_substitute_leaves_unresolved_references() -> None:
    assert substitute_vars("${A}${B}", lambda ref: "1" if ref.name == "A" else None) == "1${B}"


def test_missing_output_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        substitute_outputs("${steps.a.outputs.o}", {})


@pytest.mark.parametrize(
    "value, text",
    [(None, None), ("s", "s"), (True, "true"), (7, "7"), (1e20, "100000000000000000000")],
)
def test_var_text(value: object, text: str | None) -> None:
    assert var_text(value) == text  # type: ignore[arg-type]


@given(st.text())
def test_any_value_survives_substitution_and_the_run_time_pass(value: str) -> None:
    loaded = substitute_vars("<${X}>", lambda ref: value)
    assert substitute_outputs(loaded, {}) == f"<{value}>"
    assert escape(value).count("${") == value.count("${")


# --- fields of JSON outputs (docs/plans.md, "JSON outputs") --------------------------------------

INFO = '{"sha": "abc", "Tags": ["a", "b"], "n": 2.50, "ok": true, "none": null, "deep": {"x": [1]}}'


def test_a_reference_may_name_fields_of_a_json_output() -> None:
    assert list(references("${steps.v1.2.outputs.info.tags.0}")) == [
        OutputRef("v1.2", "info", ("tags", "0"))
    ]
    assert list(references("${steps.a.outputs.info..x} ${steps.a.outputs.info.}")) == [
        BadRef("steps.a.outputs.info..x"),
        BadRef("steps.a.outputs.info."),
    ]


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("sha", "abc"),
        ("tags.1", "b"),  # names ignore case when nothing matches exactly, as fromJSON() does
        ("n", "2.5"),
        ("ok", "true"),
        ("none", ""),
        ("deep", '{"x":[1]}'),
        ("deep.x.0", "1"),
    ],
)
def test_a_field_is_written_as_text(path: str, text: str) -> None:
    outputs = {("meta", "info"): INFO}
    assert substitute_outputs(f"${{steps.meta.outputs.info.{path}}}", outputs) == text


@pytest.mark.parametrize(
    ("output", "path", "message"),
    [
        (INFO, "nope", 'output "info" of step "meta" has no field "info.nope"'),
        (INFO, "tags.2", 'output "info" of step "meta" has no field "info.tags.2"'),
        (INFO, "sha.x", 'output "info" of step "meta" has no field "info.sha.x"'),
        ("no", "sha", 'output "info" of step "meta" is not JSON, so it has no field "info.sha"'),
    ],
)
def test_a_missing_field_is_one_clear_sentence(output: str, path: str, message: str) -> None:
    with pytest.raises(OutputFieldError) as caught:
        substitute_outputs(f"${{steps.meta.outputs.info.{path}}}", {("meta", "info"): output})
    assert str(caught.value) == message
