"""Find the line of a JSON path in the plan's text, so every problem can name its line.

The standard json module keeps no positions. This indexes the text in one pass over its tokens (a
regular expression does the scanning in C) and only when there is a problem to report.
"""

from __future__ import annotations

import bisect
import re

from engine.plan.problems import JsonPath

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]', re.DOTALL)
_SPACE = re.compile(r"\s*")


class LineIndex:
    """Maps JSON paths of one document to the 1-based line where their value starts."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._newlines = [m.start() for m in re.finditer("\n", text)]
        self._offsets: dict[JsonPath, int] = {}
        self._indexed = False

    def line_of(self, path: JsonPath) -> int | None:
        if not self._indexed:
            self._index()
        # A missing property is reported at the object that lacks it.
        for cut in range(len(path), -1, -1):
            offset = self._offsets.get(path[:cut])
            if offset is not None:
                return bisect.bisect_right(self._newlines, offset - 1) + 1
        return None

    def _value_start(self, offset: int) -> int:
        match = _SPACE.match(self._text, offset)
        return match.end() if match else offset

    def _index(self) -> None:
        self._indexed = True
        self._offsets[()] = self._value_start(0)
        # One frame per open container: (path, is_array, next index, pending key).
        stack: list[tuple[JsonPath, bool, int, str | None]] = []
        last_string: str | None = None
        for match in _TOKEN.finditer(self._text):
            token = match.group()
            if token[0] == '"':
                last_string = token
                continue
            if token in "{[":
                path = self._child_path(stack)
                stack.append((path, token == "[", 0, None))
                if token == "[":
                    self._offsets.setdefault((*path, 0), self._value_start(match.end()))
            elif token in "}]":
                if stack:
                    stack.pop()
            elif token == ":" and stack and last_string is not None:
                path, is_array, index, _ = stack[-1]
                key = _decode_key(last_string)
                stack[-1] = (path, is_array, index, key)
                self._offsets.setdefault((*path, key), self._value_start(match.end()))
            elif token == "," and stack:
                path, is_array, index, _ = stack[-1]
                if is_array:
                    stack[-1] = (path, True, index + 1, None)
                    self._offsets.setdefault((*path, index + 1), self._value_start(match.end()))
            last_string = None

    @staticmethod
    def _child_path(stack: list[tuple[JsonPath, bool, int, str | None]]) -> JsonPath:
        if not stack:
            return ()
        path, is_array, index, key = stack[-1]
        return (*path, index) if is_array else (*path, key or "")


def _decode_key(token: str) -> str:
    import json

    try:
        value = json.loads(token)
    except ValueError:
        return token[1:-1]
    return value if isinstance(value, str) else token[1:-1]


def duplicate_key_line(text: str) -> int | None:
    """The 1-based line of the first key repeated within one JSON object of `text`."""
    stack: list[set[str] | None] = []  # per open container: its keys so far, None for an array
    last_string: str | None = None
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token[0] == '"':
            last_string = token
            continue
        if token in "{[":
            stack.append(set() if token == "{" else None)
        elif token in "}]":
            if stack:
                stack.pop()
        elif token == ":" and stack and stack[-1] is not None and last_string is not None:
            key = _decode_key(last_string)
            if key in stack[-1]:
                return text.count("\n", 0, match.start()) + 1
            stack[-1].add(key)
        last_string = None
    return None
