"""Read a plan file into a JSON document, turning every way a file can be wrong into a sentence."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from engine.errors import PlanError

MAX_PLAN_BYTES = 16 * 1024 * 1024


def read_plan_text(path: Path) -> str:
    """The plan file's text; PlanError for a missing, unreadable, oversized or non-UTF-8 file."""
    name = str(path)
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_PLAN_BYTES:
                raise PlanError(
                    f"{name} is {size / 1048576:.1f} MB; a plan may be at most "
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
    if len(data) > MAX_PLAN_BYTES:  # a pipe or special file that grew past the size check
        raise PlanError(f"{name} is larger than {MAX_PLAN_BYTES // 1048576} MB")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise PlanError(f"{name}:{line}: not UTF-8 text (byte {error.start})") from None


def parse_document(text: str, source: str) -> dict[str, Any]:
    """The plan's JSON object; PlanError naming the line for anything that is not one."""
    if not text.strip():
        raise PlanError(f"{source} is empty; a plan is a JSON object with `name` and `steps`")
    try:
        document = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
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
    return document


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    """1e400 would become infinity, which no field accepts and JSON cannot write back."""
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{text} is too large a number")
    return value
