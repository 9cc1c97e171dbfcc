"""Random documents through the loader: a LoadedPlan or a PlanError, nothing else, ever."""

from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import PlanError
from engine.plan.loader import LoadedPlan, load_document, load_plan
from tests.plan.plan_helpers import run_engine

VALID = {
    "name": "fuzz",
    "vars": {"WHO": "world", "N": 3, "NEED": None},
    "secrets": ["TOKEN", {"name": "KEY", "from_env": "API_KEY", "optional": True}],
    "globals": {"max_concurrency": 2, "env": {"G": "${WHO}"}, "default_timeout_sec": 5},
    "steps": [
        {"id": "a", "command": "echo", "args": ["hi ${WHO}"], "provides": ["out"]},
        {
            "id": "b",
            "command": "echo ${steps.a.outputs.out} $${HOME}",
            "shell": True,
            "depends_on": ["a"],
            "condition": "steps.a.status == 'succeeded' and vars.WHO != ''",
            "secrets": ["TOKEN"],
            "retry": {"max_attempts": 3, "delay_sec": 0.1, "backoff": 2},
            "fallback": "c",
            "on_failure": "continue",
        },
        {"id": "c", "command": "echo", "args": ["${NEED:-x}"], "skip_if": ["env.CI == 'true'"]},
        {"id": "d", "command": "true", "depends_on": ["b"], "consumes": ["a.out"]},
    ],
    "on_failure": [{"id": "h", "command": "echo", "args": ["${steps.a.outputs.out}"]}],
}
GIVEN = {"NEED": "1"}

SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
# Strings drawn from what plans are made of, so mutations reach past the schema into the checks.
PIECES = st.sampled_from(
    ["a", "b", "c", "d", "h", "${WHO}", "${X}", "${", "$${", "${steps.a.outputs.out}",
     "${steps.zz.outputs.q}", "${NEED:-}", "${1}", "a.out", "b.nope", "true", "steps.a.status",
     "always()", "success() and", "vars.NOPE == 1", "TOKEN", "${TOKEN}", "abort", "é", "\x00", ""]
)  # fmt: skip
JSON = st.recursive(
    SCALARS | PIECES,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=5) | PIECES, inner, max_size=4)
    ),
    max_leaves=20,
)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            found.extend(_paths(child, (*path, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found.extend(_paths(child, (*path, index)))
    return found


@st.composite
def mutated(draw: st.DrawFn) -> Any:
    document = copy.deepcopy(VALID)
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(document) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = document
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "delete", "piece", "duplicate"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[path[-1]]))
        elif action == "piece":
            parent[path[-1]] = draw(PIECES)
        else:
            parent[path[-1]] = draw(JSON)
    return document


def _judge(document: Any) -> None:
    try:
        result = load_document(
            document, "fuzz.json", Path("."), GIVEN, json.dumps(document, indent=1)
        )
    except PlanError as error:
        assert error.message
        return
    assert isinstance(result, LoadedPlan)


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_the_unmutated_plan_is_valid() -> None:
    _judge(VALID)
    load_document(VALID, "fuzz.json", Path("."), GIVEN)


@FUZZ
@given(mutated())
def test_mutations_of_a_valid_plan(document: Any) -> None:
    _judge(document)


@FUZZ
@given(JSON | st.dictionaries(st.sampled_from(list(VALID)), JSON, min_size=1))
def test_random_json_values(document: Any) -> None:
    _judge(document)


CHARS = st.sampled_from(list('{}[]",: \n0aé\\'))


@settings(max_examples=80, deadline=None)
@given(st.lists(CHARS | PIECES, max_size=30).map("".join))
def test_random_text_through_the_file_loader(tmp_path_factory: Any, text: str) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "plan.json"
    path.write_text(text, encoding="utf-8")
    with contextlib.suppress(PlanError):
        load_plan(path, GIVEN)


@settings(max_examples=6, deadline=None, database=None)
@given(mutated() | JSON)
def test_random_documents_through_the_cli(tmp_path_factory: Any, document: Any) -> None:
    path = tmp_path_factory.mktemp("cli") / "plan.json"
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    result = run_engine("validate", str(path), "--var", "NEED=1")
    assert result.returncode in (0, 2), result.stderr
    assert "Traceback" not in result.stderr
