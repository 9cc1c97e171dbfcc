"""Plan steps and plan outputs at load time: the child plan is validated with its parent."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.plan.cache import load_plan_cached
from engine.plan.loader import LoadedPlan
from engine.plan.problems import Problem, format_path
from tests.plan.plan_helpers import plan_doc, step

Problems = Callable[..., list[Problem]]
Load = Callable[..., LoadedPlan]

CHILD = {
    "name": "child",
    "vars": {"WHO": None},
    "steps": [{"id": "greet", "command": "echo", "args": ["${WHO}"], "provides": ["msg"]}],
    "outputs": {"message": "${steps.greet.outputs.msg}", "fixed": "constant"},
}


def _write(tmp_path: Path, name: str, document: dict[str, Any]) -> None:
    (tmp_path / name).write_text(json.dumps(document), encoding="utf-8")


def located(problems: list[Problem]) -> list[tuple[str, str]]:
    return [(format_path(p.path), p.message) for p in problems]


def test_a_plan_step_provides_its_child_plans_outputs(tmp_path: Path, load: Load) -> None:
    _write(tmp_path, "child.json", CHILD)
    loaded = load(
        plan_doc(
            {"id": "sub", "plan": "child.json", "vars": {"WHO": "${NAME}"}},
            step("use", "sub", args=["${steps.sub.outputs.message}"]),
            vars={"NAME": "world"},
        )
    )
    sub = loaded.graph.steps["sub"]
    assert (sub.plan, dict(sub.vars), sub.provides) == (
        "child.json", {"WHO": "world"}, ("message", "fixed"),
    )  # fmt: skip


def test_what_a_plan_step_may_not_be_is_reported_at_once(
    tmp_path: Path, problems_of: Problems
) -> None:
    _write(tmp_path, "child.json", CHILD)
    _write(tmp_path, "broken.json", {"name": "broken", "steps": [{"id": "x", "command": 1}]})
    found = problems_of(
        plan_doc(
            {"id": "both", "plan": "child.json", "command": "echo", "vars": {"WHO": "a"}},
            {"id": "neither"},
            step("vars_alone", vars={"A": "b"}),
            {"id": "missing", "plan": "nowhere.json"},
            {"id": "broken", "plan": "broken.json"},
            {"id": "unwilling", "plan": "child.json"},
            {"id": "more", "plan": "child.json", "vars": {"WHO": "a"}, "provides": ["nope"]},
            {"id": "dynamic", "plan": "${steps.both.outputs.fixed}", "depends_on": ["both"]},
        )
    )
    assert located(found) == [
        ("steps[0].command", 'step "both" runs a plan: it cannot have command'),
        ("steps[1]", 'step "neither" needs command (a program), run (a script) or plan'),
        ("steps[2].vars", "vars is given to the plan of a plan step only"),
        ("steps[3].plan", f"sub-plan nowhere.json: {tmp_path / 'nowhere.json'}: no such file"),
        (
            "steps[4].plan",
            f"sub-plan broken.json is not valid: {tmp_path / 'broken.json'}:1: "
            "steps[0].command: 1 is not of type 'string'",
        ),
        (
            "steps[5].plan",
            f"sub-plan child.json is not valid: {tmp_path / 'child.json'}:1: vars.WHO: "
            "variable WHO has no default; pass --var WHO=VALUE",
        ),
        ("steps[6].provides[0]", 'the plan of step "more" has no output "nope" '
         "(its outputs: message, fixed)"),
        ("steps[7].plan", "plan cannot read outputs: the file must be known"),
    ]  # fmt: skip


def test_a_cycle_between_plan_files_names_every_file(tmp_path: Path, problems_of: Problems) -> None:
    _write(tmp_path, "b.json", plan_doc({"id": "to_c", "plan": "sub/c.json"}))
    (tmp_path / "sub").mkdir()
    _write(tmp_path / "sub", "c.json", plan_doc({"id": "back", "plan": "../plan.json"}))
    (found,) = problems_of(plan_doc(step("first"), {"id": "to_b", "plan": "b.json"}))
    assert format_path(found.path) == "steps[1].plan"
    assert found.message.startswith("sub-plan b.json is not valid: ")
    assert found.message.endswith(
        "sub-plan cycle: " + " -> ".join(
            [str(tmp_path / "plan.json"), "b.json", "sub/c.json", "../plan.json"]
        )
    )  # fmt: skip


def test_a_plan_that_runs_itself_is_a_cycle(problems_of: Problems) -> None:
    (found,) = problems_of(plan_doc({"id": "again", "plan": "plan.json"}))
    assert found.message.endswith(" -> plan.json")
    assert "sub-plan cycle: " in found.message


def test_plan_outputs_must_name_a_provided_output(problems_of: Problems) -> None:
    found = problems_of(
        plan_doc(
            step("a", provides=["x"]),
            outputs={"good": "${steps.a.outputs.x}", "bad": "${steps.a.outputs.y}",
                     "ghost": "${steps.b.outputs.x}"},
        )
    )  # fmt: skip
    assert located(found) == [
        ("outputs.bad", 'output "bad" reads "y", which step "a" does not provide'),
        ("outputs.ghost", 'output "ghost" reads unknown step "b"'),
    ]


def test_a_secret_in_a_plan_steps_vars_is_refused(tmp_path: Path, problems_of: Problems) -> None:
    _write(tmp_path, "child.json", CHILD)
    found = problems_of(
        plan_doc(
            {"id": "sub", "plan": "child.json", "vars": {"WHO": "${TOKEN}"}}, secrets=["TOKEN"]
        )
    )
    assert located(found) == [
        (
            "steps[0].vars.WHO",
            'secret "TOKEN" cannot be substituted into vars: a step sees a secret only as an '
            "environment variable (list it in the step's secrets)",
        )
    ]


def test_a_plan_with_plan_steps_is_not_cached(tmp_path: Path) -> None:
    """The cache key covers the parent file only: a changed child must be judged again."""
    _write(tmp_path, "child.json", CHILD)
    parent = tmp_path / "plan.json"
    parent.write_text(
        json.dumps(plan_doc({"id": "sub", "plan": "child.json", "vars": {"WHO": "a"}}))
    )
    cache = tmp_path / "cache"
    assert load_plan_cached(parent, {}, cache).graph.steps["sub"].provides == ("message", "fixed")
    _write(tmp_path, "child.json", {**CHILD, "outputs": {"renamed": "x"}})
    assert load_plan_cached(parent, {}, cache).graph.steps["sub"].provides == ("renamed",)
