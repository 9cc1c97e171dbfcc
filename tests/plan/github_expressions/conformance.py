"""Running GitHub's own expression test cases (this folder's *.json) against the condition language.

A case's contexts (`foo` holding JSON) become environment variables holding that JSON, and the
expression reads them as `fromJSON(env.foo)`: the way a plan reads structured data.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

from engine.plan.expressions import (
    EvalContext,
    ExpressionError,
    check_expression,
    evaluate,
    parse_expression,
)

HERE = Path(__file__).parent
# GitHub's '*' filter, which this language does not have (docs/conditions.md).
_FILTER = re.compile(r"\.\s*\*|\[\s*\*\s*\]")
_NAME = re.compile(r"(?<![.\w-])([A-Za-z_][A-Za-z0-9_-]*)(?!\s*\()")
_STRING = re.compile(r"'(?:[^']|'')*'")


@dataclass(frozen=True)
class Case:
    file: str
    group: str
    expr: str
    contexts: dict[str, object]
    result: dict[str, object] | None  # {"kind": ..., "value": ...}
    error: str | None  # lexing, parsing or evaluation
    skip: tuple[str, ...]

    @property
    def id(self) -> str:
        return f"{self.file}:{self.group}:{self.expr}"


def load_cases() -> list[Case]:
    cases = []
    for path in sorted(HERE.glob("*.json")):
        for group, items in json.loads(path.read_text(encoding="utf-8")).items():
            for item in items:
                error = item.get("err")
                cases.append(
                    Case(
                        file=path.stem,
                        group=group,
                        expr=item["expr"],
                        contexts=item.get("contexts") or {},
                        result=item.get("result"),
                        error=error["kind"] if error else None,
                        skip=tuple((item.get("options") or {}).get("skip", ())),
                    )
                )
    return cases


def out_of_scope(case: Case) -> str | None:
    """Why a case uses something this language does not claim to support; None when in scope."""
    code = _STRING.sub("''", case.expr)
    if case.skip:
        return "GitHub's TypeScript implementation skips it too (its contexts differ)"
    if _FILTER.search(code):
        return "the '*' filter"
    return None


def rewrite(case: Case) -> str:
    """The expression with each context name read from the environment as JSON."""
    names = {name.lower(): name for name in case.contexts}
    pieces = []
    position = 0
    for string in [*_STRING.finditer(case.expr), None]:
        end = string.start() if string else len(case.expr)
        code = case.expr[position:end]

        def replace(match: re.Match[str]) -> str:
            name = names.get(match.group(1).lower())
            return f"fromJSON(env.{name})" if name else match.group(0)

        pieces.append(_NAME.sub(replace, code))
        if string:
            pieces.append(string.group(0))
            position = string.end()
    return "".join(pieces)


def outcome(case: Case) -> tuple[str, object]:
    """What the engine does with a case: ("parsing" or "evaluation", message) or a value."""
    source = rewrite(case)
    env = {name: json.dumps(value) for name, value in case.contexts.items()}
    try:
        expr = parse_expression(source)
    except ExpressionError as error:
        return "parsing", error.message
    problems = check_expression(expr, known_steps=set(), ancestors=None, known_vars=set())
    if problems:
        return "parsing", problems[0].message
    try:
        value = evaluate(expr, EvalContext(env=env))
    except ExpressionError as error:
        return "evaluation", error.message
    return "value", value


def kind_of(value: object) -> str:
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int | float):
        return "Number"
    if isinstance(value, str):
        return "String"
    return "Array" if isinstance(value, list | tuple) else "Object"


def plain(value: object) -> object:
    """A value as JSON.stringify would see it: numbers as floats, NaN and infinities as null."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return [(key, plain(item)) for key, item in value.items()]
    return value


def agrees(case: Case) -> tuple[bool, str]:
    """Whether the engine does what GitHub does with a case, and what it did."""
    kind, got = outcome(case)
    if case.error is not None:
        expected_phase = "evaluation" if case.error == "evaluation" else "parsing"
        return kind == expected_phase, f"{kind}: {got!r}"
    if kind != "value":
        return False, f"{kind}: {got!r}"
    assert case.result is not None
    same = kind_of(got) == case.result["kind"] and plain(got) == plain(case.result["value"])
    return same, f"{kind_of(got)} {got!r}"
