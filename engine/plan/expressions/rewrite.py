"""Before Python sees a condition: rewrite dashed step ids, reject text Python would misread.

`steps.my-step.status` is arithmetic to Python, so the dotted path after `steps.` is matched
here and turned into `steps['my-step'].status`. The other checks are on the text itself: plain
strings with few escapes, ASCII outside strings, hints for GitHub-isms such as `&&` and `${{ }}`.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable

from engine.plan.expressions.tree import ExpressionError
from engine.plan.expressions.values import js_number

_STEP_ID = re.compile(r"[A-Za-z0-9_.-]+")
_WORD = re.compile(r"[A-Za-z0-9_]+")
_WORD_START = re.compile(r"[A-Za-z_]")
_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_NUMBER_WORDS = frozenset({"NaN", "Infinity"})
# Where a number ends, as in GitHub's lexer (a '.' continues it).
# Python's operators end one too, so that `2**9` is reported as arithmetic.
_BOUNDARY = frozenset("()[],.!><=&| \t\n\r\f\v'\"*/%{}:;^~@#\\")
_TWO_CHAR_OPERATORS = frozenset({"==", "<=", ">=", "!="})
_IDENT_PATH = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*", re.ASCII)
# Shortest id first, so `steps.a.outputs.status` is output `status` of step `a`.
_STEP_PATH = re.compile(
    r"(?P<id>[A-Za-z0-9_.-]+?)\.(?:status|exit_code|outputs(?:\.[A-Za-z_][A-Za-z0-9_]*)?)"
)
_SIMPLE_ESCAPES = frozenset("\\'\"nrt")
_HEX = frozenset("0123456789abcdefABCDEF")
_PREFIXES = frozenset({"f", "r", "b", "u", "rb", "br", "fr", "rf"})
_MISREAD = {
    "#": "comments are not supported",
    "\\": "a backslash is only allowed in a string",
    "~": "'~' is not supported; use not or !",
}


def quote(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _string_end(source: str, start: int) -> int:
    """The index just past the string literal opening at `start`; plain quotes, few escapes.

    In a single-quoted string `''` is one quote, as in GitHub Actions.
    """
    mark = source[start]
    if mark == '"' and source.startswith(mark * 3, start):
        raise ExpressionError("triple-quoted strings are not supported", start + 1)
    i = start + 1
    while i < len(source):
        char = source[i]
        if char == mark:
            if mark == "'" and source[i + 1 : i + 2] == "'":
                i += 2
                continue
            return i + 1
        if char < " " or char == "\x7f" or "\ud800" <= char <= "\udfff":
            raise ExpressionError(
                "strings cannot hold control characters; use \\n, \\t or \\r", i + 1
            )
        if char == "\\":
            i += _escape_length(source, i)
            continue
        i += 1
    raise ExpressionError("unterminated string literal", start + 1)


def _escape_length(source: str, i: int) -> int:
    """The length of the escape at `i` (a backslash); raises for one outside the few allowed."""
    escape = source[i + 1 : i + 2]
    digits = {"x": 2, "u": 4}.get(escape, 0)
    hex_digits = source[i + 2 : i + 2 + digits]
    well_formed = len(hex_digits) == digits and set(hex_digits) <= _HEX
    if escape not in _SIMPLE_ESCAPES and not (digits and well_formed):
        message = "unsupported escape; use \\\\ \\' \\\" \\n \\r \\t \\xHH or \\uHHHH"
        raise ExpressionError(message, i + 1)
    return 2 + digits


def prepare(source: str) -> tuple[str, list[int], list[float]]:
    """The text for ast.parse, per character of it the index in `source` it came from, and numbers.

    GitHub's spelling becomes Python's: `&&` and `||` become `and` and `or`, `!` becomes `~` (an
    operator that binds tighter than comparisons, as `!` does in GitHub; the parser reads it back
    as not), and every number is replaced by `__nK`, the K-th entry of the returned list, read as
    JavaScript reads numbers (hex, octal, exponents, NaN, Infinity, a sign). A name of the user's
    own cannot start with `__`, so these placeholders cannot be forged.
    """
    out: list[str] = []
    origin: list[int] = []
    numbers: list[float] = []
    after_value = False  # the last token ends a value: `.` then reads a field, not a number

    def copy(start: int, end: int) -> None:
        out.append(source[start:end])
        origin.extend(range(start, end))

    def emit(text: str, at: int) -> None:
        out.append(text)
        origin.extend([at] * len(text))

    i = 0
    while i < len(source):
        char = source[i]
        if char in "'\"":
            end = _string_end(source, i)
            emit(_python_string(source, i, end) if char == "'" else source[i:end], i)
            i, after_value = end, True
            continue
        if not char.isascii():
            raise ExpressionError("only string literals may contain non-ASCII characters", i + 1)
        if char in "+-" and after_value:
            raise ExpressionError("arithmetic is not supported in conditions", i + 1)
        if char.isdigit() or char in "+-" or (char == "." and not after_value):
            i = _number(source, i, numbers, emit)
            after_value = True
            continue
        if char == "." and _WORD_START.match(source, i + 1):
            i = _field(source, i, emit)
            continue
        word = _WORD.match(source, i)
        if word is not None:
            end = word.end()
            if word.group().startswith("__"):
                # Every known sandbox escape starts at a dunder; no name of ours does.
                message = f"{quote(word.group())}: names that start with '__' are not allowed"
                raise ExpressionError(message, i + 1)
            if source[end : end + 1] in ("'", '"') and word.group().lower() in _PREFIXES:
                raise ExpressionError(
                    "string prefixes such as f'', r'' and b'' are not supported", i + 1
                )
            if word.group() in _NUMBER_WORDS and source[i - 1 : i] != ".":
                emit(f"__n{len(numbers)}", i)
                numbers.append(js_number(word.group()))
                i, after_value = end, True
                continue
            if (
                word.group() == "steps"
                and source[end : end + 1] == "."
                and source[i - 1 : i] != "."
            ):
                i, after_value = _rewrite_step_path(source, i, end, out, origin), True
                continue
            copy(i, end)
            i, after_value = end, True
            continue
        if char in "\t\n\r\f\v":
            emit(" ", i)  # so that a condition may span lines, as in a YAML block scalar
            i += 1
            continue
        if source.startswith(("&&", "||"), i):
            emit(" and " if char == "&" else " or ", i)
            i, after_value = i + 2, False
            continue
        if char == "!" and not source.startswith("!=", i):
            emit(" ~", i)
            i, after_value = i + 1, False
            continue
        _reject_misread(source, i)
        end = i + (2 if source[i : i + 2] in _TWO_CHAR_OPERATORS else 1)
        copy(i, end)
        after_value = char in ")]" or (char == " " and after_value)
        i = end
    return "".join(out), origin, numbers


def _python_string(source: str, start: int, end: int) -> str:
    """A single-quoted string, in which `''` is one quote as in GitHub, spelled for Python."""
    if "''" not in source[start + 1 : end - 1]:
        return source[start:end]
    parts = ["'"]
    i = start + 1
    while i < end - 1:
        if source[i] == "\\":
            length = _escape_length(source, i)
            parts.append(source[i : i + length])
            i += length
        elif source[i] == "'":
            parts.append("\\'")
            i += 2
        else:
            parts.append(source[i])
            i += 1
    return "".join(parts) + "'"


def _number(source: str, start: int, numbers: list[float], emit: Callable[[str, int], None]) -> int:
    """Read a number as GitHub does, up to the next operator or blank; returns where it ends."""
    end = start + 1
    while end < len(source) and (source[end] not in _BOUNDARY or source[end] == "."):
        if source[end] in "+-" and source[end - 1] not in "eE":
            break
        end += 1
    text = source[start:end]
    value = js_number(text)
    if value != value and text != "NaN":
        if text[0] in "+-" and not (len(text) > 1 and text[1].isdigit()):
            raise ExpressionError(
                f"'{text[0]}' is only allowed directly before a number", start + 1
            )
        raise ExpressionError(
            f"{quote(text)} is not a number; a number must not run into letters or '_'", start + 1
        )
    emit(f"__n{len(numbers)}", start)
    numbers.append(value)
    return end


def _field(source: str, dot: int, emit: Callable[[str, int], None]) -> int:
    """Copy `.name` after a value; a name with '-' or one Python reserves becomes `['name']`."""
    name = _FIELD.match(source, dot + 1)
    end = name.end()  # type: ignore[union-attr]  # a word character follows the dot
    text = source[dot + 1 : end]
    if text.startswith("__"):
        message = f"{quote(text)}: names that start with '__' are not allowed"
        raise ExpressionError(message, dot + 2)
    if "-" in text or keyword.iskeyword(text) or text in _NUMBER_WORDS:
        emit(f"[{text!r}]", dot + 1)
    else:
        emit(source[dot:end], dot)
    return end


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
    before = source[:i].rstrip()[-1:]
    if source[i] < " " or source[i] == "\x7f":
        hint = "control characters are not allowed"
    elif source[i] == "*" and (
        before == "." or (before == "[" and source[i + 1 :].lstrip().startswith("]"))
    ):
        hint = "the '*' filter (a.*.b, a[*]) is not supported"
    elif source.startswith("${{", i):
        hint = "write the condition without ${{ }}"
    if hint:
        raise ExpressionError(hint, i + 1)
