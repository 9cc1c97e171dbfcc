"""GitHub Actions' value functions: contains, startsWith, endsWith, format, join, toJSON, fromJSON.

And case(). Ports of actions/languageservices `expressions/src/funcs/*.ts`: each takes evaluated
arguments and returns a plain value; a problem is a ValueError with one sentence, which the
evaluator turns into an ExpressionError. The text they build is bounded (MAX_RESULT_CHARS).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence

from engine.plan.expressions.values import (
    ARRAY,
    BOOLEAN,
    NULL,
    NUMBER,
    OBJECT,
    STRING,
    equals,
    is_primitive,
    js_number_text,
    kind_of,
    to_text,
    upper,
)

MAX_RESULT_CHARS = 1_000_000
MAX_JSON_DEPTH = 100


def _checked(text: str) -> str:
    if len(text) > MAX_RESULT_CHARS:
        raise ValueError(f"the result is longer than {MAX_RESULT_CHARS:,} characters")
    return text


def contains(search: object, item: object) -> bool:
    """A substring of a string (case ignored, primitives as text), or an array's item."""
    if is_primitive(search):
        return is_primitive(item) and to_text(item).lower() in to_text(search).lower()
    if kind_of(search) == ARRAY:
        return any(equals(item, element) for element in search)  # type: ignore[attr-defined]
    return False


def starts_with(text: object, prefix: object) -> bool:
    if not (is_primitive(text) and is_primitive(prefix)):
        return False
    return upper(to_text(text)).startswith(upper(to_text(prefix)))


def ends_with(text: object, suffix: object) -> bool:
    if not (is_primitive(text) and is_primitive(suffix)):
        return False
    return upper(to_text(text)).endswith(upper(to_text(suffix)))


def format_(template: object, *values: object) -> str:
    """`format('{0} and {1}', a, b)`; `{{` and `}}` are literal braces."""
    text = to_text(template)
    parts: list[str] = []
    size = 0
    index = 0
    while index < len(text):
        left, right = text.find("{", index), text.find("}", index)
        if left >= 0 and (right < 0 or right > left):
            if text[left + 1 : left + 2] == "{":
                parts.append(text[index : left + 1])
                index = left + 2
                continue
            digits = text[left + 1 : right] if right > left + 1 else ""
            if not digits.isdigit() or not digits.isascii():
                raise ValueError(f"the format string is invalid: {text!r}")
            if int(digits) >= len(values):
                message = f"the format string refers to more arguments than were given: {text!r}"
                raise ValueError(message)
            parts.append(text[index:left])
            parts.append(to_text(values[int(digits)]))
            index = right + 1
        elif right >= 0:
            if text[right + 1 : right + 2] != "}":
                raise ValueError(f"the format string is invalid: {text!r}")
            parts.append(text[index : right + 1])
            index = right + 2
        else:
            parts.append(text[index:])
            break
        size += len(parts[-1])
        if size > MAX_RESULT_CHARS:
            _checked("x" * size)
    return _checked("".join(parts))


def join(items: object, separator: object = ",") -> str:
    """An array's items as text between separators (',' by default); a primitive as itself."""
    if is_primitive(items):
        return to_text(items)
    if kind_of(items) != ARRAY:
        return ""
    glue = to_text(separator) if is_primitive(separator) else ","
    return _checked(glue.join(to_text(item) for item in items))  # type: ignore[attr-defined]


def to_json(value: object) -> str:
    """JSON as GitHub writes it: two-space indent, numbers as JavaScript writes them."""
    lines: list[str] = []
    try:
        _write_json(value, "", lines)
    except RecursionError:
        raise ValueError("toJSON() was given a value nested too deeply") from None
    return _checked("".join(lines))


def _write_json(value: object, indent: str, out: list[str]) -> None:
    kind = kind_of(value)
    if kind == NULL:
        out.append("null")
    elif kind == BOOLEAN:
        out.append("true" if value else "false")
    elif kind == NUMBER:
        number = float(value)  # type: ignore[arg-type]  # an int or a float
        out.append(js_number_text(number) if math.isfinite(number) else "null")
    elif kind == STRING:
        out.append(json.dumps(value, ensure_ascii=False))
    elif kind in (ARRAY, OBJECT):
        items: Sequence[tuple[str | None, object]] = (
            [(None, item) for item in value]  # type: ignore[attr-defined]
            if kind == ARRAY
            else list(value.items())  # type: ignore[attr-defined]
        )
        if not items:
            out.append("[]" if kind == ARRAY else "{}")
            return
        inner = indent + "  "
        out.append("[\n" if kind == ARRAY else "{\n")
        for position, (key, item) in enumerate(items):
            out.append(inner)
            if key is not None:
                out.append(json.dumps(key, ensure_ascii=False) + ": ")
            _write_json(item, inner, out)
            out.append(",\n" if position < len(items) - 1 else "\n")
            if len(out) > MAX_RESULT_CHARS:
                _checked("x" * (MAX_RESULT_CHARS + 1))
        out.append(indent + ("]" if kind == ARRAY else "}"))


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _object(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """Keys are case-insensitive, as in GitHub: the first of two spellings of one key wins."""
    latest = dict(pairs)
    result: dict[str, object] = {}
    seen: set[str] = set()
    for key in latest:
        if key.lower() not in seen:
            seen.add(key.lower())
            result[key] = latest[key]
    return result


def from_json(text: object) -> object:
    """The value a JSON text holds: objects, arrays, strings, numbers, booleans or null."""
    source = to_text(text)
    if not source.strip():
        raise ValueError("fromJSON() was given an empty string")
    try:
        value = json.loads(
            source, parse_constant=_no_constant, parse_int=float, object_pairs_hook=_object
        )
    except RecursionError:
        raise ValueError("fromJSON() was given JSON nested too deeply") from None
    except ValueError as error:
        raise ValueError(f"fromJSON() was given text that is not JSON: {error}") from None
    return value


def case(*arguments: object) -> object:
    """`case(pred1, value1, ..., default)`: the value after the first true predicate."""
    for index in range(0, len(arguments) - 1, 2):
        predicate = arguments[index]
        if kind_of(predicate) != BOOLEAN:
            raise ValueError("a case() predicate must be true or false")
        if predicate:
            return arguments[index + 1]
    return arguments[-1]


# name (lower case, as GitHub looks them up) -> (spelling, least and most arguments, function)
VALUE_FUNCTIONS: dict[str, tuple[str, int, int, Callable[..., object]]] = {
    "contains": ("contains", 2, 2, contains),
    "startswith": ("startsWith", 2, 2, starts_with),
    "endswith": ("endsWith", 2, 2, ends_with),
    "format": ("format", 1, 255, format_),
    "join": ("join", 1, 2, join),
    "tojson": ("toJSON", 1, 1, to_json),
    "fromjson": ("fromJSON", 1, 1, from_json),
    "case": ("case", 3, 255, case),
}
