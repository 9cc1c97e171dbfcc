"""Static checks of a parsed condition against its plan: steps it may see, vars, type slips.

They run at validation time so that a typo fails `engine validate`, not a step an hour into a run.
"""

from __future__ import annotations

import difflib
from collections.abc import Set

from engine.plan.expressions.rewrite import quote
from engine.plan.expressions.tree import (
    BoolOp,
    Call,
    Compare,
    Expression,
    ExpressionError,
    List,
    Literal,
    Node,
    Ref,
    Value,
    walk,
)
from engine.states import RunStatus, StepStatus

_STRING, _NUMBER, _BOOLEAN, _NULL, _LIST = "a string", "a number", "a boolean", "null", "a list"
_STATUSES = {"steps": [s.value for s in StepStatus], "run": [s.value for s in RunStatus]}
Kinds = frozenset[str]


def check_expression(
    expr: Expression,
    *,
    known_steps: Set[str],
    ancestors: Set[str] | None,
    known_vars: Set[str] | None,
) -> list[ExpressionError]:
    """Every problem beyond syntax: unknown or unseen steps, unknown vars, impossible comparisons.

    `ancestors` are the steps that finish before this one (its transitive depends_on); None skips
    that check (run hooks run after every step). `known_vars` None skips the vars check.
    """
    problems: list[ExpressionError] = []
    reported: set[tuple[str, str]] = set()
    for node in walk(expr.root):
        if isinstance(node, Ref) and (node.root, node.key[0]) not in reported:
            problem = _check_ref(node, known_steps, ancestors, known_vars)
            if problem is not None:
                reported.add((node.root, node.key[0]))
                problems.append(problem)
        elif isinstance(node, Compare):
            problems.extend(_check_compare(node))
        elif isinstance(node, Call):
            problems.extend(_check_call(node))
    return problems


def _did_you_mean(name: str, candidates: Set[str]) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=1)
    return f"; did you mean {quote(close[0])}?" if close else ""


def _check_ref(
    ref: Ref, known_steps: Set[str], ancestors: Set[str] | None, known_vars: Set[str] | None
) -> ExpressionError | None:
    name = ref.key[0]
    if ref.root == "steps" and name not in known_steps:
        message = f"there is no step {quote(name)}{_did_you_mean(name, known_steps)}"
        return ExpressionError(message, ref.column)
    if ref.root == "steps" and ancestors is not None and name not in ancestors:
        message = (
            f"step {quote(name)} does not finish before this step, so a condition cannot see it"
        )
        return ExpressionError(message + "; add it to depends_on", ref.column)
    if ref.root == "vars" and known_vars is not None and name not in known_vars:
        message = f"there is no variable {quote(name)} in vars{_did_you_mean(name, known_vars)}"
        return ExpressionError(message, ref.column)
    return None


def _kinds(node: Node) -> Kinds | None:
    """The kinds of value a node can have; None when it could be anything."""
    if isinstance(node, Literal):
        return frozenset({_kind(node.value)})
    if isinstance(node, Ref):
        exit_code = node.root == "steps" and node.key[1] == "exit_code"
        return frozenset({_NUMBER if exit_code else _STRING, _NULL})  # null when missing
    if isinstance(node, List):
        return frozenset({_LIST})
    if isinstance(node, BoolOp):
        operands = [_kinds(operand) for operand in node.operands]
        return None if None in operands else frozenset().union(*operands)  # type: ignore[arg-type]
    return frozenset({_BOOLEAN})


def _kind(value: Value) -> str:
    if value is None:
        return _NULL
    if isinstance(value, bool):
        return _BOOLEAN
    if isinstance(value, str):
        return _STRING
    return _LIST if isinstance(value, tuple) else _NUMBER


def _describe(kinds: Kinds) -> str:
    return " or ".join(sorted(kinds, key=[_STRING, _NUMBER, _BOOLEAN, _LIST, _NULL].index))


def _check_compare(node: Compare) -> list[ExpressionError]:
    left, right = _kinds(node.left), _kinds(node.right)
    problems = _check_status_literals(node)
    if left is None or right is None:
        return problems
    where = f"the left side is {_describe(left)} and the right side is {_describe(right)}"
    if node.op in ("==", "!=") and not left & right:
        outcome = "false" if node.op == "==" else "true"
        problems.append(
            ExpressionError(f"{where}, so '{node.op}' is always {outcome}", node.column)
        )
    elif node.op in ("<", "<=", ">", ">=") and not left & right & {_STRING, _NUMBER}:
        message = f"{where}; '{node.op}' needs two numbers or two strings"
        problems.append(ExpressionError(message, node.column))
    elif node.op in ("in", "not in"):
        if not right & {_STRING, _LIST}:
            message = (
                f"'{node.op}' looks in a string or a list, but the right side is {_describe(right)}"
            )
            problems.append(ExpressionError(message, node.column))
        elif _LIST not in right and _STRING not in left:
            message = f"'{node.op}' looks for a string in a string, but the left side is "
            problems.append(ExpressionError(message + _describe(left), node.column))
    return problems


def _check_status_literals(node: Compare) -> list[ExpressionError]:
    """Catch `steps.build.status == 'sucess'`, which would otherwise be silently false forever."""
    if node.op not in ("==", "!=", "in", "not in"):
        return []
    problems = []
    for ref, other in ((node.left, node.right), (node.right, node.left)):
        if not (isinstance(ref, Ref) and ref.key[-1] == "status" and ref.root in _STATUSES):
            continue
        literals = other.items if isinstance(other, List) else (other,)
        for literal in literals:
            valid = _STATUSES[ref.root]
            if not (isinstance(literal, Literal) and isinstance(literal.value, str)):
                continue
            if literal.value not in valid:
                message = f"{quote(literal.value)} is not a {ref.root.rstrip('s')} status; "
                message += f"one of: {', '.join(valid)}"
                problems.append(ExpressionError(message, literal.column))
    return problems


def _check_call(node: Call) -> list[ExpressionError]:
    if not node.args:
        return []
    first, second = (_kinds(arg) for arg in node.args)
    if node.name == "contains":
        if first is not None and not first & {_STRING, _LIST}:
            message = f"contains() looks in a string or a list, not in {_describe(first)}"
            return [ExpressionError(message, node.column)]
        return []
    for kinds in (first, second):
        if kinds is not None and _STRING not in kinds:
            message = f"{node.name}() needs two strings, but one argument is {_describe(kinds)}"
            return [ExpressionError(message, node.column)]
    return []
