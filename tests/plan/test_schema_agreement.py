"""The JSON Schema and the pydantic models judge every document the same way.

hypothesis-jsonschema cannot run against the installed hypothesis (its object strategy uses an API
hypothesis removed), so `schema_strategy` below walks the schema itself: it understands exactly the
keywords schema/plan.schema.json uses, and fails loudly on any other, so a schema change cannot slip
past it. Invalid documents are mutations of valid ones.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from engine.plan.model import Plan
from engine.plan.schema import plan_schema

SCHEMA = plan_schema()
VALIDATOR = Draft202012Validator(SCHEMA)
KNOWN_KEYWORDS = {
    "$schema", "$id", "$ref", "title", "description", "definitions", "type", "properties",
    "required", "additionalProperties", "propertyNames", "items", "minItems", "uniqueItems",
    "minLength", "maxLength", "pattern", "minimum", "maximum", "exclusiveMinimum", "enum", "oneOf",
}  # fmt: skip
SETTINGS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def schema_verdict(document: Any) -> bool:
    return VALIDATOR.is_valid(document)


def model_verdict(document: Any) -> bool:
    """True or False; any other exception than ValidationError fails the test."""
    try:
        Plan.model_validate(document)
    except ValidationError:
        return False
    return True


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/definitions/"), ref
        node = SCHEMA["definitions"][ref.removeprefix("#/definitions/")]
    return node


def _string(node: dict[str, Any]) -> st.SearchStrategy[str]:
    low, high = node.get("minLength", 0), node.get("maxLength")
    if "pattern" in node:
        # Hypothesis's regex strategy has no lookahead; `fullmatch` gives the same meaning.
        pattern = node["pattern"].replace("$(?!\\n)", "$")
        strategy = st.from_regex(pattern, fullmatch=True)
        return strategy.filter(lambda s: low <= len(s) <= (high or len(s)))
    return st.text(min_size=low, max_size=min(high or 12, 12))


def _number(node: dict[str, Any], integer: bool) -> st.SearchStrategy[Any]:
    low, high = node.get("minimum"), node.get("maximum")
    exclusive = node.get("exclusiveMinimum")
    if exclusive is not None:
        low = exclusive
    ints = st.integers(
        min_value=None if low is None else low + (1 if exclusive is not None else 0),
        max_value=high,
    )
    if integer:
        return ints | ints.map(float)  # 3.0 is an integer to JSON Schema
    floats = st.floats(
        min_value=low,
        max_value=high,
        exclude_min=exclusive is not None,
        allow_nan=False,
        allow_infinity=False,
    )
    return ints | floats


# Any JSON value: what a free object (`metadata`) holds.
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


def _object(node: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    if set(node) <= {"type", "description"}:  # a free object: any keys, any values
        return st.dictionaries(st.text(max_size=5), JSON_VALUES, max_size=3)
    properties = node.get("properties", {})
    required = node.get("required", [])
    fixed = {name: schema_strategy(properties[name]) for name in required}
    optional = {
        name: schema_strategy(sub) for name, sub in properties.items() if name not in required
    }
    extra = node.get("additionalProperties", True)
    base = st.fixed_dictionaries(fixed, optional=optional)
    if isinstance(extra, dict):
        # additionalProperties covers only names that properties does not.
        names = schema_strategy(node.get("propertyNames", {"type": "string"})).filter(
            lambda name: name not in properties
        )
        values = st.dictionaries(names, schema_strategy(extra), max_size=3)
        return st.tuples(base, values).map(lambda pair: {**pair[1], **pair[0]})
    assert extra is False, "the generator knows closed objects and typed maps only"
    return base


def _array(node: dict[str, Any]) -> st.SearchStrategy[list[Any]]:
    low = node.get("minItems", 0)
    unique_by = canonical if node.get("uniqueItems") else None
    return st.lists(
        schema_strategy(node["items"]), min_size=low, max_size=low + 3, unique_by=unique_by
    )


def canonical(value: Any) -> str:
    """Equality as uniqueItems sees it: 1 and 1.0 are the same item."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value, sort_keys=True)


def schema_strategy(node: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Documents valid against `node`, a (sub)schema of the plan schema."""
    unknown = set(node) - KNOWN_KEYWORDS
    assert not unknown, f"teach schema_strategy the keywords {unknown}"
    if "$ref" in node:
        return st.deferred(lambda: schema_strategy(_resolve(node)))
    if "oneOf" in node:
        return st.one_of([schema_strategy(branch) for branch in node["oneOf"]])
    if "enum" in node:
        return st.sampled_from(node["enum"])
    kinds = node["type"] if isinstance(node["type"], list) else [node["type"]]
    makers = {
        "string": lambda: _string(node),
        "integer": lambda: _number(node, integer=True),
        "number": lambda: _number(node, integer=False),
        "boolean": st.booleans,
        "null": st.none,
        "object": lambda: _object(node),
        "array": lambda: _array(node),
    }
    return st.one_of([makers[kind]() for kind in kinds])


plans = schema_strategy(SCHEMA)

# -- mutations ---------------------------------------------------------------------------------

WRONG_VALUES = [None, True, False, 0, -1, 3.5, 1e9, "", "a b", "x\n", [], [1], {}, {"k": "v"}]


def _containers(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of every object and array inside `value`, the root included."""
    found = []
    if isinstance(value, dict):
        found.append(path)
        for key, child in value.items():
            found.extend(_containers(child, (*path, key)))
    elif isinstance(value, list):
        found.append(path)
        for index, child in enumerate(value):
            found.extend(_containers(child, (*path, index)))
    return found


def _at(document: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        document = document[part]
    return document


@st.composite
def mutated_plans(draw: st.DrawFn) -> Any:
    document = copy.deepcopy(draw(plans))
    target = _at(document, draw(st.sampled_from(_containers(document))))
    keys = list(target) if isinstance(target, dict) else list(range(len(target)))
    kind = draw(
        st.sampled_from(["replace", "unknown", "delete", "duplicate", "number", "bool", "float"])
    )
    if kind == "unknown" and isinstance(target, dict):
        target[draw(st.sampled_from(["nmae", "Steps", "extra", "a b", "$ref"]))] = 1
    elif kind == "duplicate" and isinstance(target, list) and target:
        target.append(copy.deepcopy(target[0]))
    elif not keys:
        assume(False)
    else:
        key = draw(st.sampled_from(keys))
        old = target[key]
        if kind == "replace":
            target[key] = draw(st.sampled_from(WRONG_VALUES))
        elif kind == "delete":
            del target[key]
        elif kind == "number":
            target[key] = draw(st.sampled_from([-1, 0, 101, 256, 10001, 86401, 10**9, -0.5]))
        elif kind == "bool":
            target[key] = draw(st.booleans())
        else:  # float where there may be an integer, or a fraction where there must be one
            target[key] = float(old) if type(old) is int else 2.5
    return document


@SETTINGS
@given(plans)
def test_both_accept_documents_generated_from_the_schema(document: Any) -> None:
    assert schema_verdict(document), VALIDATOR.iter_errors(document)
    assert model_verdict(document)


@settings(SETTINGS, max_examples=200)
@given(mutated_plans())
def test_both_judge_mutated_documents_the_same(document: Any) -> None:
    assert model_verdict(document) == schema_verdict(document), json.dumps(document)


# -- the mutations one by one, with the verdict both must reach ----------------------------

STEP = {"id": "build", "command": "make"}


def _plan(**top: Any) -> dict[str, Any]:
    return {"name": "demo", "steps": [dict(STEP)], **top}


def _step(**fields: Any) -> dict[str, Any]:
    return _plan(steps=[{**STEP, **fields}])


CASES = {
    "minimal": (_plan(), True),
    "$schema key": (_plan(**{"$schema": "https://x/plan.schema.json"}), True),
    "field name of the $schema alias": (_plan(schema_uri="x"), False),
    "unknown top-level field": (_plan(stpes=[]), False),
    "unknown step field": (_step(cmd="make"), False),
    "unknown globals field": (_plan(globals={"concurrency": 2}), False),
    "missing name": ({"steps": [STEP]}, False),
    "missing steps": ({"name": "demo"}, False),
    "no steps": (_plan(steps=[]), False),
    # A step needs command or run: engine.plan.checks says so, naming the step.
    "neither command nor run": ({"name": "demo", "steps": [{"id": "a"}]}, True),
    "a script step": ({"name": "demo", "steps": [{"id": "a", "run": "echo"}]}, True),
    "an empty script": ({"name": "demo", "steps": [{"id": "a", "run": ""}]}, False),
    "an interpreter": (_step(shell="bash"), True),
    "metadata": (_plan(metadata={"owner": "me", "n": [1, None, {"x": True}]}), True),
    "step metadata": (_step(metadata={"ticket": "OPS-1"}), True),
    "metadata not an object": (_plan(metadata=["a"]), False),
    "tags": (_plan(tags=["nightly", "release"]), True),
    "a repeated tag": (_plan(tags=["a", "a"]), False),
    "an empty tag": (_plan(tags=[""]), False),
    "an empty interpreter": (_step(shell=""), False),
    "a number for shell": (_step(shell=1), False),
    # A step has a command or a plan: the loader's checks say which is missing, not the schema.
    "missing command": ({"name": "demo", "steps": [{"id": "a"}]}, True),
    "plan step": (
        {"name": "demo", "steps": [{"id": "a", "plan": "b.json", "vars": {"X": "1"}}]},
        True,
    ),
    "number as a plan var": (_step(plan="b.json", vars={"X": 1}), False),
    "plan outputs": (_plan(outputs={"out": "${steps.build.outputs.x}"}), True),
    "plan output name with a dash": (_plan(outputs={"a-b": "x"}), False),
    "matrix": (
        _step(
            matrix={
                "os": ["a", 1, True],
                "include": [{"os": "b"}],
                "max_parallel": 2,
                "fail_fast": True,
            }
        ),
        True,
    ),
    "empty matrix dimension": (_step(matrix={"os": []}), False),
    "null in a matrix": (_step(matrix={"os": [None]}), False),
    "matrix dimension with a dash": (_step(matrix={"a-b": [1]}), False),
    "matrix max_parallel zero": (_step(matrix={"os": [1], "max_parallel": 0}), False),
    "matrix include not a list": (_step(matrix={"include": {"os": 1}}), False),
    "missing max_attempts": (_step(retry={"delay_sec": 1}), False),
    "step id with a space": (_step(id="build it"), False),
    "step id with a newline at the end": (_step(id="build\n"), False),
    "step id with dots and dashes": (_step(id="build.linux-x86_64"), True),
    "var name starting with a digit": (_plan(vars={"1X": "a"}), False),
    "null var default": (_plan(vars={"X": None}), True),
    "number var default": (_plan(vars={"X": 1.5}), True),
    "array var default": (_plan(vars={"X": [1]}), False),
    "env name with a dash": (_step(env={"A-B": "x"}), False),
    "env value number": (_step(env={"A": 1}), False),
    "integer as float": (_plan(globals={"max_concurrency": 3.0}), True),
    "exit code as float": (_step(success_exit_codes=[0, 3.0]), True),
    "fraction for an integer": (_plan(globals={"max_concurrency": 2.5}), False),
    "boolean for an integer": (_plan(globals={"max_concurrency": True}), False),
    "boolean for a number": (_step(timeout_sec=True), False),
    "integer for a number": (_step(timeout_sec=30), True),
    "zero timeout": (_step(timeout_sec=0), False),
    "timeout over a year": (_step(timeout_sec=31536001), False),
    "concurrency zero": (_plan(globals={"max_concurrency": 0}), False),
    "exit code 256": (_step(success_exit_codes=[256]), False),
    "empty success codes": (_step(success_exit_codes=[]), False),
    "duplicate depends_on": (_step(depends_on=["a", "a"]), False),
    "duplicate exit codes 1 and 1.0": (_step(success_exit_codes=[1, 1.0]), False),
    "duplicate requires_env": (_plan(requires_env=["A", "A"]), False),
    "duplicate retry codes": (_step(retry={"max_attempts": 2, "on_exit_codes": [1, 1]}), False),
    "depends_on not an array": (_step(depends_on=5), False),
    "depends_on holding an object": (_step(depends_on=[{}]), False),
    "depends_on holding arrays": (_step(depends_on=[["a"], ["a"]]), False),
    "explicit null field": (_step(timeout_sec=None), False),
    "explicit null in globals": (_plan(globals={"env": None}), False),
    "explicit null from_env": (_plan(secrets=[{"name": "T", "from_env": None}]), False),
    "on_failure value": (_step(on_failure="skip_dependents"), True),
    "on_failure unknown": (_step(on_failure="ignore"), False),
    "on_failure as number": (_step(on_failure=1), False),
    "skip_if list": (_step(skip_if=["true", "false"]), True),
    "skip_if empty list": (_step(skip_if=[]), False),
    "empty condition": (_step(condition=""), False),
    "secret as object": (_plan(secrets=[{"name": "T", "from_env": "GH", "optional": True}]), True),
    "secret object with unknown field": (_plan(secrets=[{"name": "T", "value": "x"}]), False),
    "consumes without a dot": (_step(consumes=["build"]), False),
    "consumes with a dotted step id": (_step(consumes=["a.b.out"]), True),
    "backoff below 1": (_step(retry={"max_attempts": 2, "backoff": 0.5}), False),
    "kill grace zero": (_plan(globals={"kill_grace_sec": 0}), True),
    "top level array": ([STEP], False),
    "top level string": ("plan", False),
    "hook with an unknown field": (_plan(on_exit=[{**STEP, "when": "always"}]), False),
    "name too long": (_plan(name="x" * 201), False),
}


@pytest.mark.parametrize("document, valid", CASES.values(), ids=CASES.keys())
def test_each_mutation_is_judged_as_intended_by_both(document: Any, valid: bool) -> None:
    assert schema_verdict(document) is valid
    assert model_verdict(document) is valid


def test_the_schema_is_draft_2020_12_with_an_id() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["$id"]
    assert "$defs" not in json.dumps(SCHEMA), "editors of the draft-07 era read `definitions`"


def test_every_pattern_forbids_a_trailing_newline() -> None:
    patterns = re.findall(r'"pattern": "([^"]*)"', json.dumps(SCHEMA))
    assert patterns
    for pattern in patterns:
        assert pattern.endswith("$(?!\\\\n)"), pattern
