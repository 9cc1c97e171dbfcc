"""A step's environment (docs/plans.md, "Environment"): the allow-list, plan/file/step values,
secrets, requires_env."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.errors import UserError
from engine.plan.model import Plan
from engine.run.environment import (
    EnvironmentBuilder,
    base_environment,
    check_required_env,
    read_env_file,
    resolve_secrets,
)

CALLER = {"PATH": "/bin", "HOME": "/home/u", "LC_ALL": "C", "API_TOKEN": "t", "SECRETISH": "1"}


def make_plan(**fields: Any) -> Plan:
    steps = fields.pop("steps", [{"id": "a", "command": "true"}])
    return Plan.model_validate({"name": "p", "steps": steps, **fields})


def test_only_the_allow_list_is_inherited_by_default() -> None:
    assert base_environment(CALLER, inherit_all=False) == {
        "PATH": "/bin",
        "HOME": "/home/u",
        "LC_ALL": "C",
    }
    assert base_environment(CALLER, inherit_all=True) == CALLER
    assert base_environment({}, inherit_all=False)["PATH"]  # a default PATH, never none


def test_layers_and_secrets() -> None:
    plan = make_plan(
        secrets=["API_TOKEN", "OTHER"],
        globals={"env": {"G": "plan", "F": "plan"}},
        steps=[
            {"id": "a", "command": "true", "env": {"F": "step"}, "secrets": ["API_TOKEN"]},
            {"id": "b", "command": "true", "inherit_env": True},
        ],
    )
    builder = EnvironmentBuilder(plan, CALLER, {"F": "file", "X": "file"}, {"API_TOKEN": "t"})
    a = builder.for_step(plan.steps[0], {"F": "step"}, {"ENGINE_STEP_ID": "a"})
    assert a == {
        "PATH": "/bin", "HOME": "/home/u", "LC_ALL": "C",
        "G": "plan", "F": "step", "X": "file", "ENGINE_STEP_ID": "a", "API_TOKEN": "t",
    }  # fmt: skip
    b = builder.for_step(plan.steps[1], {}, {})
    assert b["SECRETISH"] == "1" and b["X"] == "file"
    # A step that does not list a secret does not see it, even when it inherits everything.
    assert "API_TOKEN" not in b


def test_env_files(tmp_path: Path) -> None:
    path = tmp_path / "e.env"
    path.write_text("# c\n\nA=1\nexport B = 'two words'\nC=\"q\"\nD=x=y\n")
    assert read_env_file(path) == {"A": "1", "B": "two words", "C": "q", "D": "x=y"}
    path.write_text("A=1\nnot a pair\n")
    with pytest.raises(UserError, match=r"e\.env:2: expected NAME=value"):
        read_env_file(path)
    with pytest.raises(UserError, match="--env-file"):
        read_env_file(tmp_path / "absent")


def test_secrets_come_from_the_file_first_and_missing_ones_are_listed_together() -> None:
    plan = make_plan(
        secrets=["A", {"name": "B", "from_env": "B_SRC"}, {"name": "C", "optional": True}, "D"]
    )
    with pytest.raises(UserError) as error:
        resolve_secrets(plan, {"A": "env"}, {})
    assert error.value.message.endswith(": B_SRC, D")
    values = resolve_secrets(plan, {"A": "env", "B_SRC": "b", "D": "env"}, {"A": "file"})
    assert values == {"A": "file", "B": "b", "D": "env"}


def test_requires_env_lists_every_missing_name() -> None:
    plan = make_plan(requires_env=["HOME", "NOPE_1", "EMPTY", "NOPE_2"])
    with pytest.raises(UserError) as error:
        check_required_env(plan, {"HOME": "/h", "EMPTY": ""})
    assert error.value.message == (
        "required environment variables are not set: NOPE_1, EMPTY, NOPE_2"
    )
    check_required_env(plan, {"HOME": "/h", "EMPTY": "x", "NOPE_1": "1", "NOPE_2": "2"})


def test_an_empty_secret_counts_as_not_set() -> None:
    plan = make_plan(secrets=["A", {"name": "B", "optional": True}])
    with pytest.raises(UserError, match=r"not set in the environment or --secrets-file: A$"):
        resolve_secrets(plan, {"A": "", "B": ""}, {})
    assert resolve_secrets(plan, {"A": "value", "B": ""}, {}) == {"A": "value"}
    with pytest.raises(UserError, match=r": A$"):
        resolve_secrets(plan, {"A": "value"}, {"A": ""})  # the file wins, even when empty
