"""Read a plan file into a JSON document, turning every way a file can be wrong into a sentence."""

from __future__ import annotations

import json
import math
import os
import re
import stat
from pathlib import Path
from typing import Any

from engine.errors import PlanError

MAX_PLAN_BYTES = 16 * 1024 * 1024
# One `\uD800`-`\uDFFF` escape, with the run of backslashes before it (an even run escapes itself).
_SURROGATE_ESCAPE = re.compile(r"(\\*)\\u([dD][89a-fA-F][0-9a-fA-F]{2})")


def read_plan_text(path: Path) -> str:
    """The plan file's text; PlanError for a missing, unreadable, oversized or non-UTF-8 file."""
    name = str(path)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below anyway.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        with open(fd, "rb") as handle:
            info = os.fstat(fd)
            if stat.S_ISDIR(info.st_mode):
                raise PlanError(f"{name} is a directory, not a plan file")
            if not stat.S_ISREG(info.st_mode):
                raise PlanError(f"{name} is {file_kind(info.st_mode)}, not a regular plan file")
            if info.st_size > MAX_PLAN_BYTES:
                raise PlanError(
                    f"{name} is {info.st_size / 1048576:.1f} MB; a plan may be at most "
                    f"{MAX_PLAN_BYTES // 1048576} MB"
                )
            data = handle.read(MAX_PLAN_BYTES + 1)
    except FileNotFoundError:
        raise PlanError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise PlanError(f"{name} is a directory, not a plan file") from None
    except PermissionError:
        raise PlanError(f"{name}: permission denied") from None
    except OSError as error:
        raise PlanError(f"{name} cannot be read: {error.strerror or error}") from None
    if len(data) > MAX_PLAN_BYTES:  # a file that grew past the size check while being read
        raise PlanError(f"{name} is larger than {MAX_PLAN_BYTES // 1048576} MB")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise PlanError(f"{name}:{line}: not UTF-8 text (byte {error.start})") from None


def is_yaml_file(name: str) -> bool:
    """A plan file is YAML when its name says so (`.yaml`, `.yml`), JSON otherwise."""
    return name.lower().endswith((".yaml", ".yml"))


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object from its pairs; a key given twice is an error, as in YAML, not a silent loss."""
    document = dict(pairs)
    if len(document) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return document


def parse_plan(text: str, source: str) -> dict[str, Any]:
    """A plan file's document: YAML when `source` says so (`.yaml`, `.yml`), else JSON."""
    if is_yaml_file(source):
        from engine.plan.yaml_document import parse_yaml  # PyYAML only for YAML plans

        return parse_yaml(text, source)
    return parse_document(text, source)


def parse_document(text: str, source: str) -> dict[str, Any]:
    """The plan's JSON object; PlanError naming the line for anything that is not one."""
    if not text.strip():
        raise PlanError(f"{source} is empty; a plan is a JSON object with `name` and `steps`")
    try:
        document = json.loads(
            text,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
            object_pairs_hook=_unique_keys,
        )
    except _DuplicateKey as duplicate:
        from engine.plan.locate import duplicate_key_line

        line = duplicate_key_line(text)
        where = f"{source}:{line}" if line else source
        raise PlanError(f"{where}: duplicate key {duplicate.key!r} in one JSON object") from None
    except json.JSONDecodeError as error:
        raise PlanError(
            f"{source}:{error.lineno}: not valid JSON: {error.msg} (column {error.colno})"
        ) from None
    except RecursionError:
        raise PlanError(f"{source}: not a plan: JSON nested too deeply") from None
    except ValueError as error:  # from _reject_constant or _finite_float
        raise PlanError(f"{source}: not valid JSON: {error}") from None
    if not isinstance(document, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
            type(document), "a number"
        )
        raise PlanError(f"{source} holds {kind}; a plan is a JSON object with `name` and `steps`")
    if "\\u" in text and _SURROGATE_ESCAPE.search(text) and _holds_surrogate(document):
        _reject_lone_surrogate(text, source)
    return document


def _holds_surrogate(document: dict[str, Any]) -> bool:
    """Tell whether a key or string anywhere in `document` holds a lone surrogate.

    json.loads joins a valid `\\ud83d\\ude00` pair into one character, so any surrogate left is
    lone: it is not text, cannot be written as UTF-8, and would fail far from the plan file.
    """
    stack: list[Any] = [document]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str) and any("\ud800" <= c <= "\udfff" for c in value):
            return True
    return False


def _reject_lone_surrogate(text: str, source: str) -> None:
    """Raise PlanError at the first escape that is not half of a high-low surrogate pair."""
    escapes = [m for m in _SURROGATE_ESCAPE.finditer(text) if len(m.group(1)) % 2 == 0]
    paired: set[int] = set()
    for index in range(len(escapes) - 1):
        high, low = escapes[index], escapes[index + 1]
        if (
            index not in paired
            and high.end() == low.start()
            and high.group(2).lower() < "dc00" <= low.group(2).lower()
        ):
            paired.update((index, index + 1))
    for index, match in enumerate(escapes):
        if index not in paired:
            line = text.count("\n", 0, match.start()) + 1
            raise PlanError(
                f"{source}:{line}: \\u{match.group(2)} is a lone UTF-16 surrogate, not a "
                "character; write the character itself or a complete surrogate pair"
            )
    raise PlanError(f"{source}: a string holds a lone UTF-16 surrogate, which is not text")


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words: `a FIFO (named pipe)`, `a socket`, ..."""
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a directory"
    return "a special file"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    """1e400 would become infinity, which no field accepts and JSON cannot write back."""
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{text} is too large a number")
    return value
