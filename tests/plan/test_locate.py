"""LineIndex: the line where the value at a JSON path starts, in text json.loads accepts."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.plan.locate import LineIndex

TEXT = """\
{
  "name": "a [tricky] {name}: with \\"quotes\\", and \\\\",
  "vars": {"A": "1", "B:": "x,y"},
  "steps": [
    {"id": "one", "command": "echo", "args": ["[", "]", "{", "}", ":", ","]},
    {
      "id": "two",
      "command":
        "echo",
      "depends_on": [
        "one"
      ],
      "env": {"\\u0041\\u0042": "ab"}
    },
    {"id": "three", "command": "true", "args": []}
  ],
  "on_exit": []
}
"""

LINES = {
    (): 1,
    ("name",): 2,
    ("vars",): 3,
    ("vars", "B:"): 3,
    ("steps",): 4,
    ("steps", 0): 5,
    ("steps", 0, "args", 5): 5,
    ("steps", 1): 6,
    ("steps", 1, "id"): 7,
    ("steps", 1, "command"): 9,  # the value, on the line after its key
    ("steps", 1, "depends_on"): 10,
    ("steps", 1, "depends_on", 0): 11,
    ("steps", 1, "env", "AB"): 13,  # keys are matched decoded
    ("steps", 2, "args"): 15,
    ("on_exit",): 17,
}


def test_the_text_is_json() -> None:
    assert json.loads(TEXT)["steps"][1]["env"] == {"AB": "ab"}


def test_lines_of_paths() -> None:
    index = LineIndex(TEXT)
    assert {path: index.line_of(path) for path in LINES} == LINES


def test_a_missing_property_is_reported_at_its_object() -> None:
    index = LineIndex(TEXT)
    assert index.line_of(("steps", 1, "timeout_sec")) == 6
    assert index.line_of(("steps", 2, "retry", "max_attempts")) == 15
    assert index.line_of(("globals", "env")) == 1


def test_a_one_line_document() -> None:
    assert LineIndex('{"a": [1, {"b": 2}]}').line_of(("a", 1, "b")) == 1


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            found.extend(_paths(child, (*path, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found.extend(_paths(child, (*path, index)))
    return found


KEYS = st.text(alphabet=st.sampled_from('ab:,[]{}"\\\n é'), max_size=4)
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | KEYS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(VALUES, st.integers(0, 4))
def test_each_value_is_found_on_the_line_json_dumps_put_it(value: Any, indent: int) -> None:
    """With indent, json.dumps starts every value (or its key) on a line of its own: compare with
    where the value's own text starts."""
    text = json.dumps(value, indent=indent or None)
    index = LineIndex(text)
    for path in _paths(value):
        line = index.line_of(path)
        assert line is not None
        assert 1 <= line <= text.count("\n") + 1
        if indent and path:
            # The line holds the key (objects) or the value itself (arrays).
            shown = text.splitlines()[line - 1].strip()
            last = path[-1]
            if isinstance(last, str):
                assert shown.startswith(json.dumps(last) + ":"), (path, shown)
