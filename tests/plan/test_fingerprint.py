"""A step's fingerprint parts: what decides its result changes them, how it is run does not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.plan.fingerprint import Fingerprinter, changed_parts, consumed_outputs
from engine.plan.loader import load_document

BASE: dict[str, Any] = {"id": "b", "command": "make", "args": ["all"], "depends_on": ["a"]}


def _parts(tmp_path: Path, step: dict[str, Any], **plan: Any) -> dict[str, str]:
    document = {
        "name": "p",
        "steps": [{"id": "a", "command": "true", "provides": ["v"]}, step],
        "secrets": [{"name": "TOKEN", "optional": True}],
        **plan,
    }
    loaded = load_document(document, "p.json", tmp_path, {})
    return Fingerprinter(loaded).full(loaded.graph.steps["b"], {("a", "v"): "1"})[1]


@pytest.mark.parametrize(
    ("change", "part"),
    [
        ({"command": "gmake"}, "command"),
        ({"args": ["clean"]}, "args"),
        ({"shell": True}, "shell"),
        ({"cwd": "sub"}, "cwd"),
        ({"env": {"CC": "clang"}}, "env"),
        ({"inherit_env": True}, "env"),
        ({"secrets": ["TOKEN"]}, "secrets"),
        ({"success_exit_codes": [0, 1]}, "success_exit_codes"),
    ],
)
def test_each_part_of_the_definition_is_named(
    tmp_path: Path, change: dict[str, Any], part: str
) -> None:
    before = _parts(tmp_path, BASE)
    after = _parts(tmp_path, {**BASE, **change})
    assert changed_parts(before, after) == [part]


def test_how_a_step_is_run_is_not_part_of_it(tmp_path: Path) -> None:
    before = _parts(tmp_path, BASE)
    after = _parts(
        tmp_path,
        {**BASE, "name": "Build", "timeout_sec": 5, "retry": {"max_attempts": 3},
         "on_failure": "continue", "condition": "true"},
    )  # fmt: skip
    assert after == before


def test_vars_and_plan_env_and_consumed_outputs(tmp_path: Path) -> None:
    uses = {**BASE, "args": ["${TARGET}", "${steps.a.outputs.v}"]}
    plain = _parts(tmp_path, uses, vars={"TARGET": "all", "OTHER": "x"})
    assert "vars" in plain and "outputs" in plain
    other = _parts(tmp_path, uses, vars={"TARGET": "all", "OTHER": "y"})
    assert other == plain  # a var the step does not use
    target = _parts(tmp_path, uses, vars={"TARGET": "lib", "OTHER": "x"})
    assert changed_parts(plain, target) == ["args", "vars"]
    env = _parts(tmp_path, uses, vars={"TARGET": "all"}, globals={"env": {"CI": "1"}})
    assert changed_parts(plain, env) == ["env"]


def test_consumed_outputs_come_from_consumes_and_references(tmp_path: Path) -> None:
    document = {
        "name": "p",
        "steps": [
            {"id": "a", "command": "true", "provides": ["v", "w"]},
            {"id": "b", "command": "echo", "args": ["${steps.a.outputs.w}"],
             "consumes": ["a.v"], "depends_on": ["a"]},
        ],
    }  # fmt: skip
    loaded = load_document(document, "p.json", tmp_path, {})
    step = loaded.graph.steps["b"]
    assert consumed_outputs(step) == [("a", "v"), ("a", "w")]
    fingerprints = Fingerprinter(loaded)
    one = fingerprints.full(step, {("a", "v"): "1", ("a", "w"): "2"})
    two = fingerprints.full(step, {("a", "v"): "1", ("a", "w"): "3"})
    assert one[0] != two[0] and changed_parts(one[1], two[1]) == []  # outputs are not definition


def test_a_script_step_is_fingerprinted_by_its_script(tmp_path: Path) -> None:
    script = {"id": "b", "run": "echo one\necho two\n", "shell": "bash", "depends_on": ["a"]}
    before = _parts(tmp_path, script)
    assert changed_parts(before, _parts(tmp_path, {**script, "run": "echo three\n"})) == ["run"]
    assert changed_parts(before, _parts(tmp_path, {**script, "shell": "sh"})) == ["shell"]


def _plan_step_parts(tmp_path: Path) -> dict[str, str]:
    document = {"name": "p", "steps": [{"id": "b", "plan": "child.json", "vars": {"W": "x"}}]}
    loaded = load_document(document, "p.json", tmp_path, {})
    return Fingerprinter(loaded).definition(loaded.graph.steps["b"])


def _child(tmp_path: Path, name: str, step: dict[str, Any]) -> None:
    document = {"name": name, "vars": {"W": None}, "steps": [step]}
    (tmp_path / f"{name}.json").write_text(json.dumps(document))


def test_a_plan_step_is_fingerprinted_by_its_child_plans_content(tmp_path: Path) -> None:
    _child(tmp_path, "child", {"id": "c", "command": "echo", "args": ["${W}"]})
    before = _plan_step_parts(tmp_path)
    _child(tmp_path, "child", {"id": "c", "command": "echo", "args": ["edited", "${W}"]})
    after = _plan_step_parts(tmp_path)
    assert changed_parts(before, after) == ["plan_content"]


def test_a_plan_step_is_fingerprinted_by_its_grandchild_plans_content(tmp_path: Path) -> None:
    _child(tmp_path, "child", {"id": "c", "plan": "grandchild.json", "vars": {"W": "${W}"}})
    _child(tmp_path, "grandchild", {"id": "g", "command": "echo", "args": ["${W}"]})
    before = _plan_step_parts(tmp_path)
    _child(tmp_path, "grandchild", {"id": "g", "command": "printf", "args": ["${W}"]})
    assert changed_parts(before, _plan_step_parts(tmp_path)) == ["plan_content"]


def test_a_child_plan_gone_after_validation_changes_the_fingerprint(tmp_path: Path) -> None:
    _child(tmp_path, "child", {"id": "c", "command": "echo", "args": ["${W}"]})
    document = {"name": "p", "steps": [{"id": "b", "plan": "child.json", "vars": {"W": "x"}}]}
    loaded = load_document(document, "p.json", tmp_path, {})
    before = Fingerprinter(loaded).definition(loaded.graph.steps["b"])
    (tmp_path / "child.json").unlink()
    after = Fingerprinter(loaded).definition(loaded.graph.steps["b"])
    assert changed_parts(before, after) == ["plan_content"]
