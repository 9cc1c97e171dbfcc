"""Warnings about conditions that GitHub Actions would evaluate, but hardly as the author meant.

They are not errors: GitHub's conversions give each of them a meaning (values.py). `engine validate`
prints them; docs/conditions.md, "Checked before anything runs", lists them.
"""

from __future__ import annotations

import math

from engine.plan.expressions.rewrite import quote
from engine.plan.expressions.tree import (
    Compare,
    Expression,
    ExpressionError,
    List,
    Literal,
    Node,
    Not,
    Ref,
    walk,
)
from engine.plan.expressions.values import js_number

_ORDERINGS = frozenset({"<", "<=", ">", ">="})


def lint_expression(expr: Expression) -> list[ExpressionError]:
    """Constant comparisons, strings read as numbers by surprise, a bare string as a condition."""
    warnings = _bare_string(expr.root)
    for node in walk(expr.root):
        if isinstance(node, Compare) and node.op not in ("in", "not in"):
            warnings.extend(_compare(node))
    return warnings


def _is_number_ref(node: Node) -> bool:
    return isinstance(node, Ref) and node.root == "steps" and node.key[1] == "exit_code"


def _string_ref(node: Node) -> Ref | None:
    return node if isinstance(node, Ref) and not _is_number_ref(node) else None


def _bare_string(root: Node) -> list[ExpressionError]:
    """`vars.DRY_RUN` alone is true for the string 'false': the classic slip."""
    ref = _string_ref(root.operand if isinstance(root, Not) else root)
    if ref is None:
        return []
    message = f"{ref.text} is a string, and every string but '' is true, 'false' too; "
    message += f"compare it: {ref.text} == 'true'"
    return [ExpressionError(message, ref.column)]


def _compare(node: Compare) -> list[ExpressionError]:
    for side, other in ((node.left, node.right), (node.right, node.left)):
        if isinstance(other, List) and node.op in ("==", "!="):
            message = f"a list equals only itself, so '{node.op}' with a list is constant; use 'in'"
            return [ExpressionError(message, node.column)]
        if not isinstance(other, Literal) or not isinstance(side, Ref):
            continue
        slip = _literal_slip(node.op, side, other.value)
        if slip is not None:
            return [ExpressionError(slip, other.column)]
    return []


def _literal_slip(op: str, ref: Ref, value: object) -> str | None:
    number_ref = _is_number_ref(ref)
    if isinstance(value, str):  # the common case: a name compared with text
        if number_ref and math.isnan(js_number(value)):
            outcome = "true" if op == "!=" else "false"
            return f"{quote(value)} is not a number, so '{op}' with {ref.text} is always {outcome}"
        return None
    if number_ref:
        return None
    if isinstance(value, bool):
        text = "true" if value else "false"
        return (
            f"{ref.text} is a string and {text} reads as {int(value)}, so this compares the "
            f"string as a number; write {ref.text} {op} '{text}'"
        )
    is_number = isinstance(value, int | float)
    if ref.key[-1] == "status" and ref.root != "vars" and is_number and op not in _ORDERINGS:
        return f"{ref.text} is a status name, so '{op}' with a number is constant"
    return None
