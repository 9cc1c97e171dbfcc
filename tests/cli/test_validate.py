"""`engine validate` and `engine schema` as real processes: exit codes, stdout/stderr, --json."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from jsonschema import Draft202012Validator

REPO = Path(__file__).resolve().parents[2]

PLAN = """\
{
  "name": "demo",
  "vars": {"BRANCH": null},
  "steps": [
    {"id": "build", "command": "make", "args": ["${BRANCH}"]},
    {"id": "test", "command": "make", "depends_on": ["build", "biuld"]},
    {
      "id": "ship",
      "command": "echo",
      "depends_on": ["test"],
      "condition": "steps.test.status == 'succeeded' and"
    }
  ]
}
"""


def engine(*args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "engine", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan.json"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_valid_plan_exits_0(tmp_path: Path) -> None:
    result = engine(
        "validate",
        str(write(tmp_path, PLAN.replace(', "biuld"', "").replace(' and"', '"'))),
        "--var",
        "BRANCH=main",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{tmp_path / 'plan.json'}: valid plan 'demo' (3 steps)\n"
    assert result.stderr == ""


def test_every_problem_on_stderr_with_line_and_exit_2(tmp_path: Path) -> None:
    path = write(tmp_path, PLAN)
    result = engine("validate", str(path), "--var", "TYPO=1")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[:3] == [
        f"{path}:3: vars: --var TYPO: the plan has no variable TYPO",
        f"{path}:3: vars.BRANCH: variable BRANCH has no default; pass --var BRANCH=VALUE",
        f'{path}:6: steps[1].depends_on[1]: step "test" depends on unknown step "biuld"',
    ]
    # The wording of expression errors belongs to docs/conditions.md; the place is ours.
    assert lines[3].startswith(f"{path}:11: steps[2].condition: bad expression: ")
    assert lines[3].endswith("(column 37)")
    assert lines[4:] == [f"{path}: 4 problems"]


def test_json_output_for_an_invalid_plan(tmp_path: Path) -> None:
    result = engine("validate", "--json", str(write(tmp_path, PLAN)), "--var", "BRANCH=x")
    assert result.returncode == 2
    report = json.loads(result.stdout)
    assert report["valid"] is False
    assert [set(p) for p in report["problems"]] == [
        {"path", "pointer", "line", "file_column", "column", "message"}
    ] * 2
    first, second = report["problems"]
    assert first == {
        "path": "steps[1].depends_on[1]",
        "pointer": "/steps/1/depends_on/1",
        "line": 6,
        "file_column": None,
        "column": None,
        "message": 'step "test" depends on unknown step "biuld"',
    }
    assert (second["path"], second["line"], second["column"]) == ("steps[2].condition", 11, 37)


def test_json_output_for_a_valid_plan(tmp_path: Path) -> None:
    path = write(tmp_path, '{"name": "ok", "steps": [{"id": "a", "command": "true"}]}')
    result = engine("validate", str(path), "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout) == {"valid": True, "plan": "ok", "problems": []}


def test_json_output_for_an_unreadable_file(tmp_path: Path) -> None:
    result = engine("validate", str(tmp_path / "missing.json"), "--json")
    assert result.returncode == 2
    (problem,) = json.loads(result.stdout)["problems"]
    assert problem["path"] == "$"
    assert problem["message"].endswith("missing.json: no such file")


def test_schema_prints_the_shipped_schema() -> None:
    result = engine("schema")
    assert result.returncode == 0
    printed = json.loads(result.stdout)
    assert result.stdout == (REPO / "schema" / "plan.schema.json").read_text(encoding="utf-8")
    Draft202012Validator.check_schema(printed)


def test_many_plans_at_once_one_verdict_each(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text('{"name": "ok", "steps": [{"id": "a", "command": "true"}]}')
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "bad", "steps": [{"id": "a", "command": "true", "x": 1}]}')
    empty = tmp_path / "empty.json"
    empty.write_text("")
    result = engine("validate", str(good), str(bad), str(empty))
    assert result.returncode == 2
    assert result.stdout == f"{good}: valid plan 'ok' (1 step)\n"
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f'{bad}:1: steps[0]: unknown field "x"')
    assert lines[1:] == [
        f"{bad}: 1 problem",
        f"engine: {empty} is empty; a plan is a JSON object with `name` and `steps`",
        "engine: 2 of 3 plans are invalid",
    ]
    assert engine("validate", str(good), str(good)).returncode == 0
    verdicts = json.loads(engine("validate", "--json", str(good), str(bad)).stdout)
    assert [(v["file"], v["valid"]) for v in verdicts] == [(str(good), True), (str(bad), False)]
    assert verdicts[1]["problems"][0]["path"] == "steps[0]"


def test_a_var_that_is_not_utf8_is_one_sentence(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text('{"name": "v", "vars": {"X": "a"}, "steps": [{"id": "a", "command": "true"}]}')
    for command in ([b"validate"], [b"run", b"--ledger", bytes(tmp_path / "l.db")]):
        # Bytes that are not UTF-8 in argv, as a shell passes `--var X=$'\xff'`.
        result = subprocess.run(
            [sys.executable.encode(), b"-m", b"engine", *command, bytes(path), b"--var", b"X=\xff"],
            capture_output=True, timeout=60, check=False,
        )  # fmt: skip
        assert result.returncode == 2
        assert result.stderr == b"engine: --var X: the value is not UTF-8 text\n"


def test_a_suspicious_condition_is_a_warning_and_the_plan_stays_valid(tmp_path: Path) -> None:
    plan = {
        "name": "warned",
        "vars": {"DEPLOY": "false"},
        "steps": [
            {"id": "a", "command": "true"},
            {"id": "b", "command": "true", "depends_on": ["a"], "condition": "vars.DEPLOY"},
        ],
    }
    path = write(tmp_path, json.dumps(plan, indent=2))
    result = engine("validate", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{path}: valid plan 'warned' (2 steps)\n"
    assert result.stderr == (
        f"{path}:17: steps[1].condition: warning: vars.DEPLOY is a string, and every string but ''"
        " is true, 'false' too; compare it: vars.DEPLOY == 'true' (column 1)\n"
    )
    verdict = json.loads(engine("validate", "--json", str(path)).stdout)
    assert verdict["valid"] is True
    [warning] = verdict["warnings"]
    assert (warning["path"], warning["line"], warning["column"]) == ("steps[1].condition", 17, 1)
