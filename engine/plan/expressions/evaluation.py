"""Evaluating a parsed condition over plain mappings of step results, variables and environment.

Only this package's own tree is walked; values are read with mapping lookups and narrowed to plain
strings, numbers, booleans and null, so a condition never reaches a Python object's attributes.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.plan.expressions.tree import (
    BoolOp,
    Call,
    Compare,
    Expression,
    ExpressionError,
    List,
    Literal,
    Node,
    Not,
    Ref,
    Value,
)
from engine.states import RunStatus, StepStatus

# A dependency skipped by its own condition counts as fine, as in GitHub Actions.
_DEPENDENCY_OK = frozenset({StepStatus.SUCCEEDED, StepStatus.REUSED, StepStatus.SKIPPED})
_DEPENDENCY_FAILED = frozenset({StepStatus.FAILED, StepStatus.ABANDONED})
_RUN_FAILED = frozenset({RunStatus.FAILED, RunStatus.PARTIAL, RunStatus.CRASHED})
_ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}  # fmt: skip


@dataclass(frozen=True)
class EvalContext:
    """What a condition can see: finished steps' results, variables, environment and the run."""

    steps: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    dependencies: tuple[str, ...] = ()  # direct depends_on of the step being evaluated
    vars: Mapping[str, str] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    run: Mapping[str, object] = field(default_factory=dict)  # {"id": ..., "status": ...}
    canceled: bool = False  # the run is being canceled
    # A run hook's failure() also looks at the run's outcome; a main step's looks only at its
    # dependencies, so an abort does not start every failure() step of the DAG.
    in_hook: bool = False


def evaluate(expr: Expression, ctx: EvalContext) -> object:
    """The value of a parsed condition; raises ExpressionError, and nothing else, on a problem."""
    return _evaluate(expr.root, ctx)


def should_run(condition: Expression | None, ctx: EvalContext) -> bool:
    """Whether a step with this `condition` runs; success() is implied unless it names a status."""
    if condition is None or not condition.uses_status_function:
        # success() first, so a condition over a failed dependency's outputs is not even evaluated.
        if not _success(ctx):
            return False
        if condition is None:
            return True
    return is_truthy(evaluate(condition, ctx))


def is_truthy(value: object) -> bool:
    """False for null, false, 0, NaN, "" and an empty list; true for everything else."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, int | float):
        return value != 0 and not (isinstance(value, float) and math.isnan(value))
    if isinstance(value, str | tuple | list):
        return len(value) > 0
    return True


def _evaluate(node: Node, ctx: EvalContext) -> Value:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Ref):
        return _plain(_lookup(node, ctx), node)
    if isinstance(node, List):
        return tuple(_evaluate(item, ctx) for item in node.items)
    if isinstance(node, Not):
        return not is_truthy(_evaluate(node.operand, ctx))
    if isinstance(node, BoolOp):
        # The deciding operand itself, as in Python and GitHub Actions: `env.X or 'default'` works.
        value: Value = None
        for operand in node.operands:
            value = _evaluate(operand, ctx)
            if is_truthy(value) == (node.op == "or"):
                return value
        return value
    if isinstance(node, Compare):
        left, right = _evaluate(node.left, ctx), _evaluate(node.right, ctx)
        return _compare(node.op, left, right, node.column)
    return _call(node, ctx)


def _get(mapping: object, key: str) -> object:
    return mapping.get(key) if isinstance(mapping, Mapping) else None


def _lookup(ref: Ref, ctx: EvalContext) -> object:
    """The raw value behind a reference; anything missing is null."""
    if ref.root == "steps":
        value: object = ctx.steps
        for key in ref.key:
            value = _get(value, key)
        return value
    return _get({"vars": ctx.vars, "env": ctx.env, "run": ctx.run}[ref.root], ref.key[0])


def _plain(value: object, ref: Ref) -> Value:
    """The value as a plain string, number, boolean or null; enum members become their values."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    message = f"{ref.text} is not a string, number, boolean or null"
    raise ExpressionError(message, ref.column)


def _kind(value: Value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, tuple) else "a number"


def _equal(a: Value, b: Value) -> bool:
    """Equality without coercion: 1 == 1.0, but 1 != '1' and true != 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def _compare(op: str, left: Value, right: Value, column: int) -> bool:
    if op in ("==", "!="):
        return _equal(left, right) == (op == "==")
    if op in ("in", "not in"):
        return _contains(right, left, column, f"'{op}'") == (op == "in")
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (left, right))
    if numbers or (isinstance(left, str) and isinstance(right, str)):
        return _ORDERINGS[op](left, right)
    message = f"cannot compare {_kind(left)} with {_kind(right)} using '{op}'"
    raise ExpressionError(message + "; ordering needs two numbers or two strings", column)


def _contains(container: Value, item: Value, column: int, what: str) -> bool:
    if isinstance(container, tuple):
        return any(_equal(element, item) for element in container)
    if isinstance(container, str):
        if isinstance(item, str):
            return item in container
        message = f"{what} looks for a string in a string, but was given {_kind(item)}"
        raise ExpressionError(message, column)
    message = f"{what} looks in a string or a list, but was given {_kind(container)}"
    raise ExpressionError(message, column)


def _call(node: Call, ctx: EvalContext) -> bool:
    if node.name == "always":
        return True
    if node.name == "cancelled":
        return ctx.canceled or _status(ctx.run) == RunStatus.CANCELED
    if node.name == "success":
        return _success(ctx)
    if node.name == "failure":
        return _failure(ctx)
    first, second = (_evaluate(arg, ctx) for arg in node.args)
    if node.name == "contains":
        return _contains(first, second, node.column, "contains()")
    if not (isinstance(first, str) and isinstance(second, str)):
        message = (
            f"{node.name}() needs two strings, but was given {_kind(first)} and {_kind(second)}"
        )
        raise ExpressionError(message, node.column)
    return first.startswith(second) if node.name == "startsWith" else first.endswith(second)


def _status(mapping: object) -> str | None:
    status = _get(mapping, "status")
    return str(status) if isinstance(status, str) else None


def _success(ctx: EvalContext) -> bool:
    run_status = _status(ctx.run)
    if ctx.canceled or run_status == RunStatus.CANCELED or run_status in _RUN_FAILED:
        return False
    return all(_dependency_ok(_get(ctx.steps, dep)) for dep in ctx.dependencies)


def _dependency_ok(step: object) -> bool:
    """The scheduler's `ok` if given: skipped for a failure is not fine, skipped by condition is."""
    ok = _get(step, "ok")
    if isinstance(ok, bool):
        return ok
    return _status(step) in _DEPENDENCY_OK


def _failure(ctx: EvalContext) -> bool:
    # A cancel wins: after Ctrl-C only always() and cancelled() steps start.
    if ctx.canceled:
        return False
    if ctx.in_hook and _status(ctx.run) in _RUN_FAILED:
        return True
    return any(_status(_get(ctx.steps, dep)) in _DEPENDENCY_FAILED for dep in ctx.dependencies)
