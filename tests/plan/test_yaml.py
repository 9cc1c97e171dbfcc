"""YAML plans: the schema of JSON plans, values by the YAML 1.2 core schema, clear refusals."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.errors import PlanError
from engine.plan.loader import load_plan
from engine.plan.problems import InvalidPlan
from engine.plan.yaml_document import MAX_ALIAS_VALUES, parse_yaml
from tests.plan.plan_helpers import REPO, run_engine

EXAMPLES = sorted((REPO / "examples").glob("*.json"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
def test_every_example_has_a_yaml_twin_that_loads_to_the_same_plan(path: Path) -> None:
    twin = path.with_suffix(".yaml")
    assert twin.read_text().startswith("# yaml-language-server: $schema=../schema/plan.schema.json")
    from_json, from_yaml = load_plan(path), load_plan(twin)
    assert from_yaml.plan == from_json.plan
    assert from_yaml.document == {k: v for k, v in from_json.document.items() if k != "$schema"}


def test_scalars_follow_yaml_1_2_not_1_1() -> None:
    text = (
        "a: yes\nb: no\nc: on\nd: off\ne: y\nf: 010\ng: 0o17\nh: 0x1f\ni: 1.5e3\nj: ~\nk:\n"
        "l: True\nm: 12:30\nn: 2001-12-14\no: '1'\np: !!str 2\nq: !!float 3\nr: 1_000\ns: ''\n"
        "t: |\n  one\n  two\n"
    )
    assert parse_yaml(text, "p.yaml") == {
        "a": "yes",
        "b": "no",
        "c": "on",
        "d": "off",
        "e": "y",
        "f": 10,
        "g": 15,
        "h": 31,
        "i": 1500.0,
        "j": None,
        "k": None,
        "l": True,
        "m": "12:30",
        "n": "2001-12-14",
        "o": "1",
        "p": "2",
        "q": 3.0,
        "r": "1_000",
        "s": "",
        "t": "one\ntwo\n",
    }


def test_anchors_and_aliases_share_a_value() -> None:
    text = "env: &common {A: '1'}\nsteps:\n  - {id: a, env: *common}\n  - {id: b, env: *common}\n"
    document = parse_yaml(text, "p.yaml")
    assert document["steps"][0]["env"] == document["steps"][1]["env"] == {"A": "1"}


BILLION_LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{n}: &{n} [{', '.join([f'*{p}'] * 10)}]\n"
    for p, n in zip("abcdefgh", "bcdefghi", strict=True)
)

BAD = {
    "duplicate key": ("name: a\nname: b\nsteps: []\n", "p.yaml:2:1: duplicate key 'name'"),
    "nested duplicate": (
        "name: a\nsteps:\n  - id: x\n    command: 'true'\n    id: y\n",
        "p.yaml:5:5: duplicate key 'id'",
    ),
    "syntax error": ("name: a\nsteps: [\n", "p.yaml:3:1: not valid YAML"),
    "bad indentation": ("name: a\n steps: []\n", "p.yaml:2:7: not valid YAML"),
    "python tag": (
        "name: !!python/object:os.system x\n",
        "p.yaml:1:7: tag !!python/object:os.system",
    ),
    "local tag": ("name: !mine x\n", "tag !mine is not allowed"),
    "timestamp tag": ("name: !!timestamp 2001-12-14\n", "tag !!timestamp is not allowed"),
    "wrong core tag": ("name: !!int x\n", "p.yaml:1:7: 'x' is not an int"),
    "billion laughs": (BILLION_LAUGHS, f"aliases expand to more than {MAX_ALIAS_VALUES:,} values"),
    "recursive alias": ("name: &n [*n]\n", "alias *n refers to a value that holds it"),
    "unknown alias": ("name: *n\n", "p.yaml:1:7: alias *n names no anchor before it"),
    "two documents": ("name: a\n---\nname: b\n", "p.yaml:2:1: a plan file holds one YAML document"),
    "collection key": ("? [a]\n: 1\n", "a mapping key must be a scalar"),
    "infinity": ("name: a\nvars: {X: .inf}\n", "p.yaml:2:11: .inf is not a JSON value"),
    "NaN": ("name: a\nvars: {X: .nan}\n", ".nan is not a JSON value"),
    "huge number": ("name: a\nvars: {X: 1e400}\n", "1e400 is too large a number"),
    "deep nesting": ("a: " + "[" * 500 + "]" * 500 + "\n", "nested too deeply"),
    "control character": ("name: a\x07\n", "p.yaml:1: not valid YAML: character '\\x07'"),
    "a sequence": ("- id: a\n  command: 'true'\n", "holds a sequence"),
    "a string": ("just text\n", "holds a string"),
    "only a comment": ("# nothing here\n", "holds null"),
    "empty": ("  \n", "is empty"),
}


@pytest.mark.parametrize("text, expected", BAD.values(), ids=BAD.keys())
def test_bad_yaml_is_one_sentence_with_line_and_column(text: str, expected: str) -> None:
    with pytest.raises(PlanError) as caught:
        parse_yaml(text, "p.yaml")
    assert expected in caught.value.message
    assert "\n" not in caught.value.message


def test_a_duplicate_json_key_is_an_error_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text('{"name": "x",\n "steps": [{"id": "a", "command": "true",\n  "id": "b"}]}\n')
    result = run_engine("validate", str(path))
    assert result.returncode == 2
    assert result.stderr == f"engine: {path}:3: duplicate key 'id' in one JSON object\n"


def test_a_duplicate_yaml_key_through_the_cli(tmp_path: Path) -> None:
    path = tmp_path / "plan.yml"
    path.write_text("name: x\nsteps:\n  - id: a\n    command: 'true'\n    command: 'false'\n")
    result = run_engine("validate", str(path))
    assert result.returncode == 2
    assert result.stderr == f"engine: {path}:5:5: duplicate key 'command' in one mapping\n"


def test_schema_and_plan_problems_name_the_yaml_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(
        "name: x\nsteps:\n  - id: a\n    command: 5\n  - id: b\n    command: 'true'\n"
        "    depends_on: [a, zz]\n"
    )
    with pytest.raises(InvalidPlan) as caught:
        load_plan(path)
    assert [(p.line, p.file_column) for p in caught.value.problems] == [(4, 14), (7, 21)]
    result = run_engine("validate", str(path), "--json")
    problems = json.loads(result.stdout)["problems"]
    assert [(p["line"], p["file_column"]) for p in problems] == [(4, 14), (7, 21)]
    result = run_engine("validate", str(path))
    assert f'{path}:7:21: steps[1].depends_on[1]: step "b" depends on unknown step' in (
        result.stderr
    )


def test_a_wrong_value_is_shown_as_the_plan_spells_it_not_as_python_does(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(
        "name: x\nsteps:\n  - id: a\n    command: [true]\n  - id: b\n    command: null\n"
        "    args: {k: false}\n"
    )
    with pytest.raises(InvalidPlan) as caught:
        load_plan(path)
    assert [p.message for p in caught.value.problems] == [
        "[true] is not of type 'string'",
        'step "b" needs command (a program), run (a script) or plan',
        "null is not of type 'string'",
        "{\"k\": false} is not of type 'array'",
    ]


@pytest.mark.slow
def test_a_yaml_plan_runs_and_is_cached_without_importing_yaml(tmp_path: Path) -> None:
    plan = tmp_path / "hello.yaml"
    plan.write_text(
        "name: hi\nvars: {WHO: world}\nsteps:\n  - id: a\n    command: echo\n"
        "    args: ['hello ${WHO}']\n"
    )
    probe = (
        "import sys\nfrom engine.cli.main import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit as exit:\n    code = exit.code\n"
        "print('yaml' in sys.modules, code, file=sys.__stderr__)\n"
    )
    ledger = tmp_path / "ledger.db"
    argv = [sys.executable, "-c", probe, "run", str(plan), "--ledger", str(ledger), "-q"]
    first = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert first.stderr.splitlines()[-1] == "True 0", first.stderr
    second = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert second.stderr.splitlines()[-1] == "False 0", second.stderr  # a cache hit
    logs = "".join(p.read_text() for p in tmp_path.rglob("*.log"))
    assert "hello world" in logs


def test_a_json_plan_never_imports_yaml(tmp_path: Path) -> None:
    probe = (
        "import sys\nfrom engine.plan.loader import load_plan\n"
        f"load_plan(__import__('pathlib').Path({str(REPO / 'examples' / 'hello.json')!r}))\n"
        "print('yaml' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "False"
