"""`${...}` references in plan strings: variables at load time, step outputs at run time.

One tokenizer serves both passes. Load time replaces `${VAR}` and `${VAR:-default}` and leaves
`${steps.ID.outputs.NAME}` and the `$${` escape alone; run time replaces output references and
turns `$${` into `${`. A variable's value is escaped when it is inserted, so a value that happens to
contain `${` is never mistaken for a reference later.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

_TOKEN = re.compile(r"\$\$\{|\$\{([^}]*)\}")
_VAR = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$", re.DOTALL)
# steps.ID.outputs.NAME, then the fields of a JSON output: .sha, .tags.0 (shortest id first). A
# matrix expansion's id ends in `[name=value,...]` (engine.plan.matrix).
_OUTPUT = re.compile(
    r"^steps\.([A-Za-z0-9_.-]+?(?:\[[^\]]*\])?)\.outputs\.([A-Za-z_][A-Za-z0-9_]*)"
    r"((?:\.[A-Za-z0-9_-]+)*)$"
)
_MATRIX = re.compile(r"^matrix\.([A-Za-z_][A-Za-z0-9_]*)$")


@dataclass(frozen=True)
class VarRef:
    name: str
    default: str | None


@dataclass(frozen=True)
class OutputRef:
    step_id: str
    name: str
    fields: tuple[str, ...] = ()  # a field path into a JSON output: ("sha",), ("tags", "0")

    @property
    def text(self) -> str:
        return ".".join((f'output "{self.name}" of step "{self.step_id}"', *self.fields))


class OutputFieldError(ValueError):
    """A field of a JSON output that the output does not have; the message is one sentence."""


@dataclass(frozen=True)
class MatrixRef:
    """`${matrix.NAME}`: replaced when a matrix step is expanded, before variables."""

    name: str


@dataclass(frozen=True)
class BadRef:
    text: str


Ref = VarRef | OutputRef | MatrixRef | BadRef


def parse_ref(inner: str) -> Ref:
    if inner.startswith("steps."):
        match = _OUTPUT.match(inner)
        if match is None:
            return BadRef(inner)
        fields = tuple(match.group(3).split(".")[1:]) if match.group(3) else ()
        return OutputRef(match.group(1), match.group(2), fields)
    if inner.startswith("matrix."):
        match = _MATRIX.match(inner)
        return MatrixRef(match.group(1)) if match else BadRef(inner)
    match = _VAR.match(inner)
    return VarRef(match.group(1), match.group(2)) if match else BadRef(inner)


def references(text: str) -> Iterator[Ref]:
    """Every `${...}` reference in `text`, escapes excluded."""
    if "${" not in text:  # most strings; each is scanned several times while checking a plan
        return
    for match in _TOKEN.finditer(text):
        if match.group(1) is not None:
            yield parse_ref(match.group(1))


def escape(value: str) -> str:
    return value.replace("${", "$${")


def substitute_vars(text: str, resolve: Callable[[VarRef], str | None]) -> str:
    """Replace variable references; `resolve` returns None for an undefined one, left as is."""
    if "${" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        inner = match.group(1)
        if inner is None:
            return match.group(0)
        ref = parse_ref(inner)
        if isinstance(ref, VarRef):
            value = resolve(ref)
            if value is not None:
                return escape(value)
        return match.group(0)

    return _TOKEN.sub(replace, text)


def substitute_outputs(text: str, outputs: Mapping[tuple[str, str], str]) -> str:
    """Run-time pass: replace output references, unescape `$${`; a missing output is a KeyError.

    A missing field of a JSON output is an OutputFieldError.
    """
    if "$" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        inner = match.group(1)
        if inner is None:
            return "${"
        ref = parse_ref(inner)
        if isinstance(ref, OutputRef):
            value = outputs[(ref.step_id, ref.name)]
            if ref.fields:
                from engine.plan.json_fields import field_text  # only plans that read fields

                return field_text(value, ref.step_id, ref.name, ref.fields)
            return value
        return match.group(0)

    return _TOKEN.sub(replace, text)


def var_text(value: str | bool | int | float | None) -> str | None:
    """A `vars` default as the string a plan sees: JSON spelling for booleans and numbers."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
