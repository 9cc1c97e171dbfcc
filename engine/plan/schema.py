"""The plan JSON Schema: where it ships, and turning its verdict into located problems.

jsonschema costs ~90 ms to import, more than the rest of `engine validate`. The pydantic models
judge every plan first (tests/plan/test_schema_agreement.py proves they agree with the schema), so
jsonschema is imported only to explain a plan the models rejected, in the schema's own terms.
"""

from __future__ import annotations

import itertools
import json
from functools import cache
from importlib import resources
from typing import Any

from engine.plan.model import CONSUMES_PATTERN, DURATION_PATTERN, STEP_ID_PATTERN
from engine.plan.problems import MAX_SHOWN_PROBLEMS, Problem

_FRIENDLY_PATTERNS = {
    STEP_ID_PATTERN: "may contain only letters, digits, `_`, `.` and `-`",
    CONSUMES_PATTERN: "must name an output as STEP_ID.NAME",
    DURATION_PATTERN: "is not a duration; use seconds or e.g. 90s, 15m, 12h, 7d, 2w",
}


def schema_text() -> str:
    """The schema exactly as shipped (`engine schema` prints it)."""
    return resources.files("engine.plan").joinpath("plan.schema.json").read_text("utf-8")


@cache
def plan_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(schema_text())
    return schema


def schema_problems(document: Any, limit: int = MAX_SHOWN_PROBLEMS) -> tuple[list[Problem], int]:
    """The first `limit` ways `document` breaks the schema, as problems with JSON paths (lines
    are added later), and how many there are in all.

    Errors past the limit are only counted: each jsonschema error holds its instance, schema
    and paths, and keeping them all for a plan wrong in every step cost gigabytes.
    """
    from jsonschema import Draft202012Validator

    errors = Draft202012Validator(plan_schema()).iter_errors(document)
    problems = [
        Problem(tuple(error.absolute_path), _message(error))
        for error in itertools.islice(errors, limit)
    ]
    total = len(problems) + sum(1 for _ in errors)
    problems.sort(key=lambda p: [(isinstance(x, int), x) for x in p.path])
    return problems, total


def _message(error: Any) -> str:
    keyword = error.validator
    if keyword == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        allowed = ", ".join(sorted(error.schema.get("properties", {})))
        names = ", ".join(f'"{name}"' for name in extra)
        noun = "field" if len(extra) == 1 else "fields"
        return f"unknown {noun} {names} (allowed: {allowed})"
    if keyword == "pattern" and error.validator_value in _FRIENDLY_PATTERNS:
        return f"{_shown(error.instance)} {_FRIENDLY_PATTERNS[error.validator_value]}"
    if keyword == "pattern" and isinstance(error.instance, str):
        return f"{_shown(error.instance)} must be a name of letters, digits and `_`"
    message = str(error.message)
    written = repr(error.instance)
    long_or_not_text = len(written) > _SHOWN_CHARS or not isinstance(error.instance, str)
    if long_or_not_text and message.startswith(written):
        # As the plan wrote it (`null`, `[true]`), not as Python does (`None`, `[True]`), and cut
        # short: not 10 MB of a bad value.
        message = _shown(error.instance) + message[len(written) :]
    if keyword == "propertyNames":
        return f"{message} (names are letters, digits and `_`, not starting with a digit)"
    if keyword == "required":
        return message.replace("'", '"').replace("property", "field")
    return message


_SHOWN_CHARS = 60


def _shown(value: Any) -> str:
    """A value as JSON, cut short so that one problem stays one readable line."""
    text = json.dumps(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."
