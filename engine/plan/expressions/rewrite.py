"""Before Python sees a condition: rewrite dashed step ids, reject text Python would misread.

`steps.my-step.status` is arithmetic to Python, so the dotted path after `steps.` is matched
here and turned into `steps['my-step'].status`. The other checks are on the text itself: plain
strings with few escapes, ASCII outside strings, hints for GitHub-isms such as `&&` and `${{ }}`.
"""

from __future__ import annotations

import re

from engine.plan.expressions.tree import ExpressionError

_STEP_ID = re.compile(r"[A-Za-z0-9_.-]+")
_WORD = re.compile(r"[A-Za-z0-9_]+")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_IDENT_PATH = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*", re.ASCII)
# Shortest id first, so `steps.a.outputs.status` is output `status` of step `a`.
_STEP_PATH = re.compile(
    r"(?P<id>[A-Za-z0-9_.-]+?)\.(?:status|exit_code|outputs(?:\.[A-Za-z_][A-Za-z0-9_]*)?)"
)
_SIMPLE_ESCAPES = frozenset("\\'\"nrt")
_HEX = frozenset("0123456789abcdefABCDEF")
_PREFIXES = frozenset({"f", "r", "b", "u", "rb", "br", "fr", "rf"})
_MISREAD = {"#": "comments are not supported", "\\": "a backslash is only allowed in a string"}


def quote(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _string_end(source: str, start: int) -> int:
    """The index just past the string literal opening at `start`; plain quotes, few escapes."""
    mark = source[start]
    if source.startswith(mark * 3, start):
        raise ExpressionError("triple-quoted strings are not supported", start + 1)
    i = start + 1
    while i < len(source):
        char = source[i]
        if char == mark:
            return i + 1
        if char < " " or char == "\x7f" or "\ud800" <= char <= "\udfff":
            raise ExpressionError(
                "strings cannot hold control characters; use \\n, \\t or \\r", i + 1
            )
        if char == "\\":
            escape = source[i + 1 : i + 2]
            digits = {"x": 2, "u": 4}.get(escape, 0)
            hex_digits = source[i + 2 : i + 2 + digits]
            well_formed = len(hex_digits) == digits and set(hex_digits) <= _HEX
            if escape not in _SIMPLE_ESCAPES and not (digits and well_formed):
                message = "unsupported escape; use \\\\ \\' \\\" \\n \\r \\t \\xHH or \\uHHHH"
                raise ExpressionError(message, i + 1)
            i += 2 + digits
            continue
        i += 1
    raise ExpressionError("unterminated string literal", start + 1)


def prepare(source: str) -> tuple[str, list[int]]:
    """The text for ast.parse and, per character of it, the index in `source` it came from."""
    out: list[str] = []
    origin: list[int] = []

    def copy(start: int, end: int) -> None:
        out.append(source[start:end])
        origin.extend(range(start, end))

    i = 0
    while i < len(source):
        char = source[i]
        word = _WORD.match(source, i)
        if char in "'\"":
            end = _string_end(source, i)
        elif not char.isascii():
            raise ExpressionError("only string literals may contain non-ASCII characters", i + 1)
        elif char.isdigit():
            end = _NUMBER.match(source, i).end()  # type: ignore[union-attr]  # a digit matches
            if _WORD.match(source, end):
                # Python warns about `1in x` and reads `0x1f` as hex; plain decimals are clearer.
                raise ExpressionError("a number must not run into letters or '_'", i + 1)
        elif word is not None:
            end = word.end()
            if word.group().startswith("__"):
                # Every known sandbox escape starts at a dunder; no name of ours does.
                message = f"{quote(word.group())}: names that start with '__' are not allowed"
                raise ExpressionError(message, i + 1)
            if source[end : end + 1] in ("'", '"') and word.group().lower() in _PREFIXES:
                raise ExpressionError(
                    "string prefixes such as f'', r'' and b'' are not supported", i + 1
                )
            if (
                word.group() == "steps"
                and source[end : end + 1] == "."
                and source[i - 1 : i] != "."
            ):
                i = _rewrite_step_path(source, i, end, out, origin)
                continue
        elif char in "\t\n\r\f\v":
            out.append(" ")  # so that a condition may span lines, as in a YAML block scalar
            origin.append(i)
            i += 1
            continue
        else:
            _reject_misread(source, i)
            end = i + 1
        copy(i, end)
        i = end
    return "".join(out), origin


def _rewrite_step_path(source: str, start: int, dot: int, out: list[str], origin: list[int]) -> int:
    """Copy `steps.ID.FIELD` at `start` as `steps['ID'].FIELD`; returns where the path ends."""
    path = _STEP_ID.match(source, dot + 1)
    end = path.end() if path else dot
    step = _STEP_PATH.fullmatch(source, dot + 1, end)
    if step is None:
        if path and not _IDENT_PATH.fullmatch(path.group()):
            message = f"{quote(source[start:end])} is not a step reference; write steps.ID.status, "
            raise ExpressionError(
                message + "steps.ID.exit_code or steps.ID.outputs.NAME", start + 1
            )
        out.append(source[start:end])  # plain identifiers: the AST check judges them
        origin.extend(range(start, end))
        return end
    id_start, id_end = dot + 1, step.end("id")
    out.extend(("steps", "['", source[id_start:id_end], "']", source[id_end:end]))
    origin.extend(range(start, dot))
    origin.extend((dot, dot))  # the inserted quotes point at the characters they stand next to
    origin.extend(range(id_start, id_end))
    origin.extend((id_end, id_end))
    origin.extend(range(id_end, end))
    return end


def _reject_misread(source: str, i: int) -> None:
    """Raise for a character Python would read differently from what the user most likely meant."""
    hint = _MISREAD.get(source[i])
    if source[i] < " " or source[i] == "\x7f":
        hint = "control characters are not allowed"
    elif source.startswith(("&&", "||"), i):
        hint = f"use {'and' if source[i] == '&' else 'or'} instead of {source[i] * 2}"
    elif source.startswith("!", i) and not source.startswith("!=", i):
        hint = "use not instead of !"
    elif source.startswith("${{", i):
        hint = "write the condition without ${{ }}"
    if hint:
        raise ExpressionError(hint, i + 1)
