"""A schema error does not hide the semantic checks: one report lists every problem of a plan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.plan.loader import load_document
from engine.plan.problems import InvalidPlan, format_path
from tests.plan.plan_helpers import plan_doc, run_engine, step


def problems_of(document: dict[str, Any], **given: str) -> list[tuple[str, str]]:
    with pytest.raises(InvalidPlan) as caught:
        load_document(document, "plan.json", Path("."), given, json.dumps(document, indent=2))
    return [(format_path(p.path), p.message) for p in caught.value.problems]


SIX = plan_doc(
    step("build", timeout_sec=-1),  # schema
    step("test", "build", "biuld"),  # unknown dependency
    step("deploy", "verify", depend_on=["x"]),  # schema (unknown field) and a cycle
    step("verify", "deploy"),
    {"id": "bad id", "command": "true"},  # schema
    step("gate", condition="steps.tset.status == 'failed'"),  # bad expression
    vars={"BRANCH": None},  # required
)


def test_schema_and_semantic_problems_are_reported_together() -> None:
    found = problems_of(SIX)
    paths = sorted(path for path, _ in found)
    assert paths == [
        "steps[0].timeout_sec",
        "steps[1].depends_on[1]",
        "steps[2]",
        "steps[2].depends_on",
        "steps[4].id",
        "steps[5].condition",
        "vars.BRANCH",
    ], found
    assert ("steps[2].depends_on", "dependency cycle: deploy -> verify -> deploy") in found
    assert any("there is no step 'tset'" in message for _, message in found)


def test_a_repair_never_shows_up_as_a_problem_of_its_own() -> None:
    # `bad id` is renamed for the checks; `after` depending on it must not become "unknown step".
    # `nocmd` gets a stand-in command; the secret with a bad name must not make `uses` undeclared.
    found = problems_of(
        plan_doc(
            {"id": "bad id", "command": "true"},
            step("after", "bad id"),
            step("needs", "bad id"),
            {"id": "nocmd", "retry": {"max_attempts": 0}},
            step("uses", secrets=["9TOKEN"]),
            step("runs", command="echo ${X}"),
            secrets=["9TOKEN"],
            vars={"X": ["not", "a", "string"]},
        )
    )
    assert all("__invalid" not in message for _, message in found), found
    assert not any("unknown step" in message for _, message in found), found
    assert not any("undefined variable" in message for _, message in found), found
    assert len(found) == len({path for path, _ in found}) or found


def test_the_checks_do_not_run_where_nothing_sensible_is_left() -> None:
    assert problems_of({"name": "x", "steps": "not a list"}) == [
        ("steps", "'not a list' is not of type 'array'")
    ]
    found = problems_of({"name": "x", "steps": [], "vars": {"Y": None}})
    assert [path for path, _ in found] == ["steps"]


def test_engine_validate_reports_all_six_problems_at_once(tmp_path: Path) -> None:
    plan = tmp_path / "six.json"
    plan.write_text(json.dumps(SIX, indent=2))
    result = run_engine("validate", str(plan))
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().endswith("six.json: 7 problems"), result.stderr
    assert "Traceback" not in result.stderr
