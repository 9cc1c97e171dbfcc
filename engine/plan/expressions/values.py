"""GitHub Actions' value semantics: truth, loose equality, ordering, conversions to text and number.

A port of actions/languageservices `expressions/src/result.ts` and `data/*.ts`, so that a condition
pasted from a workflow means what it meant there: `true == 1`, `'abc' == 'ABC'`, `null < 1`.
Values are plain Python data: None, bool, int or float, str, tuple or list (arrays), dict (objects).
"""

from __future__ import annotations

import math
import re

_NUMBER_TEXT = re.compile(r"[+-]?(?:Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)")
_RADIX = {"0x": (16, re.compile(r"[0-9a-fA-F]+")), "0o": (8, re.compile(r"[0-7]+"))}
_RADIX["0b"] = (2, re.compile(r"[01]+"))
_EXPONENT_DIGITS = 21  # JavaScript writes 1e21 and beyond with an exponent

# Kinds, ordered so that a comparison can test `kind <= _BOOLEAN` for "null or boolean".
NULL, BOOLEAN, NUMBER, STRING, ARRAY, OBJECT = range(6)


def kind_of(value: object) -> int:
    """One of the kind constants above; anything unexpected counts as an object."""
    if value is None:
        return NULL
    if value is True or value is False:
        return BOOLEAN
    if isinstance(value, str):
        return STRING
    if isinstance(value, int | float):
        return NUMBER
    return ARRAY if isinstance(value, tuple | list) else OBJECT


def is_primitive(value: object) -> bool:
    return kind_of(value) <= STRING


def js_number(text: str) -> float:
    """JavaScript's Number(text): blanks trimmed, '' is 0, hex, octal, binary; else NaN."""
    text = text.strip()
    if not text:
        return 0.0
    radix = _RADIX.get(text[:2].lower())
    if radix is not None:
        base, digits = radix
        if not digits.fullmatch(text, 2):
            return math.nan
        try:
            return float(int(text[2:], base))
        except OverflowError:
            return math.inf
    if not _NUMBER_TEXT.fullmatch(text):
        return math.nan
    return float(text)


def to_number(value: object) -> float:
    """The number GitHub reads a value as: null 0, booleans 0 or 1, strings by Number()."""
    kind = kind_of(value)
    if kind == NUMBER:
        return float(value)  # type: ignore[arg-type]  # an int or a float
    if kind == STRING:
        return js_number(value)  # type: ignore[arg-type]  # a str
    if kind <= BOOLEAN:
        return 1.0 if value else 0.0
    return math.nan


def to_text(value: object) -> str:
    """The string GitHub reads a value as, for format(), join(), contains() and substitutions."""
    kind = kind_of(value)
    if kind == STRING:
        return value  # type: ignore[return-value]  # a str
    if kind == NUMBER:
        return number_text(value)  # type: ignore[arg-type]  # an int or a float
    if kind == BOOLEAN:
        return "true" if value else "false"
    if kind == NULL:
        return ""
    return "Array" if kind == ARRAY else "Object"


def number_text(value: float) -> str:
    """A number as GitHub writes it: at most 15 decimals, JavaScript's notation (1e+21, 1.5e-7)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    value = float(f"{value:.15f}")
    return js_number_text(value)


def js_number_text(value: float) -> str:
    """JavaScript's Number.prototype.toString() for a finite number."""
    if value == 0:
        return "0"
    if float(value).is_integer() and abs(value) < 10**_EXPONENT_DIGITS:
        return str(int(value))
    sign = "-" if value < 0 else ""
    mantissa, _, exponent = repr(abs(float(value))).partition("e")
    whole, _, fraction = mantissa.partition(".")
    scale = int(exponent or 0)
    if whole.strip("0"):
        point = len(whole.lstrip("0")) + scale
    else:
        point = scale - (len(fraction) - len(fraction.lstrip("0")))
    digits = (whole + fraction).strip("0")
    count = len(digits)
    if count <= point <= _EXPONENT_DIGITS:
        return sign + digits + "0" * (point - count)
    if 0 < point <= _EXPONENT_DIGITS:
        return sign + digits[:point] + "." + digits[point:]
    if -6 < point <= 0:
        return sign + "0." + "0" * -point + digits
    rest = "." + digits[1:] if count > 1 else ""
    power = point - 1
    return f"{sign}{digits[0]}{rest}e{'+' if power > 0 else '-'}{abs(power)}"


def upper(text: str) -> str:
    """Upper case as GitHub compares strings: ordinal, ignoring case, except the dotless 'ı'."""
    if "ı" not in text:
        return text.upper()
    return "ı".join(part.upper() for part in text.split("ı"))


def is_truthy(value: object) -> bool:
    """False for null, false, 0, NaN and ''; true for everything else, arrays and objects too."""
    if value is None or value is True or value is False:
        return bool(value)
    if isinstance(value, str):
        return len(value) > 0
    if isinstance(value, int | float):
        return value != 0 and value == value  # NaN is the only value unequal to itself
    return True


def _coerce(left: object, right: object) -> tuple[object, int, object, int]:
    """Both sides converted as JavaScript's `==` does, except that objects stay objects."""
    left_kind, right_kind = kind_of(left), kind_of(right)
    while left_kind != right_kind:
        if left_kind == NUMBER and right_kind == STRING:
            return left, NUMBER, js_number(right), NUMBER  # type: ignore[arg-type]
        if left_kind == STRING and right_kind == NUMBER:
            return js_number(left), NUMBER, right, NUMBER  # type: ignore[arg-type]
        if left_kind <= BOOLEAN:
            left, left_kind = to_number(left), NUMBER
        elif right_kind <= BOOLEAN:
            right, right_kind = to_number(right), NUMBER
        else:
            break
    return left, left_kind, right, right_kind


def equals(left: object, right: object) -> bool:
    """GitHub's `==`: loose across kinds, strings ignore case, arrays and objects by identity."""
    if type(left) is str and type(right) is str:  # the common case, first
        return left == right or upper(left) == upper(right)
    left, left_kind, right, right_kind = _coerce(left, right)
    if left_kind != right_kind:
        return False
    if left_kind == STRING:
        return upper(left) == upper(right)  # type: ignore[arg-type]
    if left_kind in (NUMBER, BOOLEAN, NULL):
        return left == right  # NaN is unequal to everything, itself included
    return left is right


def greater(left: object, right: object) -> bool:
    """GitHub's `>`: after the same conversions as `==`; false for anything incomparable or NaN."""
    left, left_kind, right, right_kind = _coerce(left, right)
    if left_kind != right_kind or left_kind > STRING or left_kind == NULL:
        return False
    if left_kind == STRING:
        return upper(left) > upper(right)  # type: ignore[arg-type]
    return bool(left > right)  # type: ignore[operator]  # numbers or booleans; NaN is never >


def less(left: object, right: object) -> bool:
    """GitHub's `<`, the mirror of greater()."""
    return greater(right, left)
