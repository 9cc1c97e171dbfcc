"""Read a YAML plan into the same JSON document a JSON plan gives, by the YAML 1.2 core schema.

libyaml (through PyYAML) does the parsing; the values are built here from its events, because
PyYAML resolves scalars by YAML 1.1 (`yes` is true, `010` is 8) and ruamel.yaml, which speaks 1.2,
took 4.4 s on the 10,000-step benchmark plan against 0.12 s for this. Only what JSON can hold is
accepted: no tags but the core ones, no keys that are collections, no document after the first, and
aliases may add at most MAX_ALIAS_VALUES values, so a "billion laughs" file is refused early.
"""

from __future__ import annotations

import contextlib
import math
import re
from typing import Any

import yaml
from yaml import events

from engine.errors import PlanError
from engine.plan.problems import JsonPath

MAX_ALIAS_VALUES = 1_000_000
MAX_DEPTH = 200  # the plan's own nesting is 5 deep; JSON output past ~1,000 levels fails anyway

_CORE = "tag:yaml.org,2002:"
_TAGS = {f"{_CORE}{name}" for name in ("str", "int", "float", "bool", "null", "map", "seq")}
_NULL = {"", "~", "null", "Null", "NULL"}
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_SPECIAL_FLOAT = re.compile(r"[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)")
_MAYBE_TYPED = frozenset("-+.0123456789~nNtTfF")  # the first characters of non-string scalars

try:  # libyaml, where PyYAML was built with it
    from yaml.cyaml import CParser as _Parser  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - the wheels for CPython on Linux carry libyaml
    from yaml import SafeLoader as _Parser  # type: ignore[assignment]


class _Refused(Exception):
    """A reason to refuse the document, raised at the event `mark` it concerns."""

    def __init__(self, message: str, mark: Any) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark


def parse_yaml(text: str, source: str) -> dict[str, Any]:
    """The plan's YAML document as JSON data; PlanError naming the line and column otherwise."""
    if not text.strip():
        raise PlanError(f"{source} is empty; a plan is a mapping with `name` and `steps`")
    document = _build(text, source, None)
    if not isinstance(document, dict):
        kind = {list: "a sequence", str: "a string", bool: "a boolean", type(None): "null"}.get(
            type(document), "a number"
        )
        raise PlanError(f"{source} holds {kind}; a plan is a mapping with `name` and `steps`")
    return document


class YamlLineIndex:
    """Maps JSON paths of one YAML document to the (line, column) where their value starts."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._positions: dict[JsonPath, tuple[int, int]] | None = None

    def position_of(self, path: JsonPath) -> tuple[int, int] | None:
        if self._positions is None:
            self._positions = {}
            with contextlib.suppress(PlanError):  # only a valid document is ever located
                _build(self._text, "", self._positions)
        for cut in range(len(path), -1, -1):  # a missing property: the object that lacks it
            found = self._positions.get(path[:cut])
            if found is not None:
                return found
        return None


def _build(text: str, source: str, positions: dict[JsonPath, tuple[int, int]] | None) -> Any:
    """Turn the events of `text` into values; record each value's position when asked."""
    try:
        parser = _Parser(text)
        try:
            return _values(parser, positions)
        finally:
            dispose = getattr(parser, "dispose", None)
            if dispose is not None:
                dispose()
    except _Refused as refused:
        raise PlanError(f"{_where(source, refused.mark)}: {refused.message}") from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = error.problem or error.context or "not valid YAML"
        context = f" ({error.context})" if error.context and error.problem else ""
        raise PlanError(f"{_where(source, mark)}: not valid YAML: {problem}{context}") from None
    except yaml.reader.ReaderError as error:  # a character YAML does not allow
        line = text.count("\n", 0, max(error.position, 0)) + 1
        raise PlanError(
            f"{source}:{line}: not valid YAML: character {chr(error.character)!r} is not allowed"
            if isinstance(error.character, int)
            else f"{source}:{line}: not valid YAML: {error.reason}"
        ) from None


def _where(source: str, mark: Any) -> str:
    return f"{source}:{mark.line + 1}:{mark.column + 1}" if mark is not None else source


def _values(parser: Any, positions: dict[JsonPath, tuple[int, int]] | None) -> Any:
    """One pass over the events with a stack of open collections: no recursion, any depth."""
    get_event = parser.get_event
    scalar_event, alias_event = events.ScalarEvent, events.AliasEvent
    mapping_start, sequence_start = events.MappingStartEvent, events.SequenceStartEvent
    mapping_end, sequence_end = events.MappingEndEvent, events.SequenceEndEvent
    # One frame per open collection: [container, pending key, anchor, values so far, path].
    stack: list[list[Any]] = []
    anchors: dict[str, tuple[Any, int] | None] = {}  # None while the anchored value is open
    alias_values = 0
    count = 0  # values built, aliases counted as what they stand for
    documents = 0
    result: Any = None
    while True:
        event = get_event()
        kind = type(event)
        if kind is scalar_event:
            count += 1
            value: Any = _scalar(event)
            weight = 1
        elif kind is mapping_start or kind is sequence_start:
            if event.tag is not None and event.tag not in _TAGS:
                raise _Refused(_tag_text(event.tag), event.start_mark)
            if len(stack) >= MAX_DEPTH:
                raise _Refused(
                    f"nested too deeply (more than {MAX_DEPTH} levels)", event.start_mark
                )
            frame_path: JsonPath = ()
            if positions is not None:
                frame_path = _child_path(stack, event)
                positions.setdefault(frame_path, _position(event))
            if event.anchor is not None:
                anchors[event.anchor] = None
            stack.append(
                [{} if kind is mapping_start else [], None, event.anchor, count, frame_path]
            )
            count += 1
            continue
        elif kind is mapping_end or kind is sequence_end:
            container, _, anchor, started, _ = stack.pop()
            value, weight = container, count - started
            if anchor is not None:
                anchors[anchor] = (value, weight)
            _place(stack, value, positions, event, record=False)
            if not stack:
                result = value
            continue
        elif kind is alias_event:
            if event.anchor not in anchors:
                raise _Refused(f"alias *{event.anchor} names no anchor before it", event.start_mark)
            entry = anchors[event.anchor]
            if entry is None:
                raise _Refused(
                    f"alias *{event.anchor} refers to a value that holds it", event.start_mark
                )
            value, weight = entry
            alias_values += weight
            count += weight
            if alias_values > MAX_ALIAS_VALUES:
                raise _Refused(
                    f"aliases expand to more than {MAX_ALIAS_VALUES:,} values", event.start_mark
                )
        elif kind is events.DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise _Refused(
                    "a plan file holds one YAML document; this is a second", event.start_mark
                )
            continue
        elif kind is events.StreamEndEvent:
            return result
        else:
            continue
        if kind is scalar_event and event.anchor is not None:
            anchors[event.anchor] = (value, weight)
        if not stack:
            result = value
        else:
            _place(stack, value, positions, event, record=True)


def _place(
    stack: list[list[Any]],
    value: Any,
    positions: dict[JsonPath, tuple[int, int]] | None,
    event: Any,
    *,
    record: bool,
) -> None:
    """Put a finished value into the collection open below it (a key, a mapping value, an item)."""
    if not stack:
        return
    frame = stack[-1]
    container = frame[0]
    if type(container) is list:
        if positions is not None and record:
            positions.setdefault((*frame[4], len(container)), _position(event))
        container.append(value)
        return
    if frame[1] is None:  # a key
        if isinstance(value, dict | list):
            raise _Refused("a mapping key must be a scalar, not a collection", event.start_mark)
        key = value if type(value) is str else getattr(event, "value", str(value))
        if key in container:
            raise _Refused(f"duplicate key {key!r} in one mapping", event.start_mark)
        frame[1] = key
        return
    if positions is not None and record:
        positions.setdefault((*frame[4], frame[1]), _position(event))
    container[frame[1]] = value
    frame[1] = None


def _child_path(stack: list[list[Any]], event: Any) -> JsonPath:
    """The path a collection starting now will have, below the collection open around it."""
    if not stack:
        return ()
    container, pending, _, _, path = stack[-1]
    if type(container) is list:
        return (*path, len(container))
    if pending is None:
        raise _Refused("a mapping key must be a scalar, not a collection", event.start_mark)
    return (*path, pending)


def _position(event: Any) -> tuple[int, int]:
    return event.start_mark.line + 1, event.start_mark.column + 1


def _scalar(event: Any) -> Any:
    """A scalar's value: a plain one resolved by the YAML 1.2 core schema, a quoted one a string."""
    value: str = event.value
    tag = event.tag
    if tag is None or tag == "!":
        if not event.implicit[0] or (value and value[0] not in _MAYBE_TYPED):
            return value  # quoted, a block scalar, or plain but starting like no number
        return _resolve_plain(value, event)
    if tag not in _TAGS or tag.endswith(("map", "seq")):
        raise _Refused(_tag_text(tag), event.start_mark)
    kind = tag[len(_CORE) :]
    if kind == "str":
        return value
    resolved = _resolve_plain(value, event)
    expected = {"int": int, "float": float, "bool": bool, "null": type(None)}[kind]
    if kind == "float" and type(resolved) is int:
        return float(resolved)
    if type(resolved) is not expected:
        article = "an" if kind == "int" else "a"
        raise _Refused(f"{value!r} is not {article} {kind}", event.start_mark)
    return resolved


def _resolve_plain(value: str, event: Any) -> Any:
    if value in _NULL:
        return None
    if value in _BOOL:
        return _BOOL[value]
    if _INT.fullmatch(value):
        if value.startswith("0o"):
            return int(value[2:], 8)
        return int(value, 16) if value.startswith("0x") else int(value)
    if _FLOAT.fullmatch(value):
        number = float(value)
        if math.isinf(number):
            raise _Refused(f"{value} is too large a number", event.start_mark)
        return number
    if _SPECIAL_FLOAT.fullmatch(value):
        raise _Refused(f"{value} is not a JSON value", event.start_mark)
    return value


def _tag_text(tag: str) -> str:
    shown = f"!!{tag[len(_CORE) :]}" if tag.startswith(_CORE) else tag
    return (
        f"tag {shown} is not allowed: a plan holds only strings, numbers, booleans, null, "
        "mappings and sequences"
    )
