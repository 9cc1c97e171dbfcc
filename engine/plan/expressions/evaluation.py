"""Evaluating a parsed condition over plain mappings of step results, variables and environment.

Only this package's own tree is walked; values are read with mapping lookups and narrowed to plain
data, so a condition never reaches a Python object's attributes. Comparisons and functions follow
GitHub Actions (values.py, functions.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from engine.plan.expressions.functions import VALUE_FUNCTIONS, contains
from engine.plan.expressions.tree import (
    BoolOp,
    Call,
    Compare,
    Expression,
    ExpressionError,
    Index,
    List,
    Literal,
    Node,
    Not,
    Ref,
    Value,
)
from engine.plan.expressions.values import (
    ARRAY,
    OBJECT,
    equals,
    greater,
    is_primitive,
    kind_of,
    less,
    to_number,
    to_text,
)
from engine.plan.expressions.values import (
    is_truthy as is_truthy,
)
from engine.states import RunStatus, StepStatus

# A dependency skipped by its own condition counts as fine, as in GitHub Actions.
_DEPENDENCY_OK = frozenset({StepStatus.SUCCEEDED, StepStatus.REUSED, StepStatus.SKIPPED})
_DEPENDENCY_FAILED = frozenset({StepStatus.FAILED, StepStatus.ABANDONED})
_RUN_FAILED = frozenset({RunStatus.FAILED, RunStatus.PARTIAL, RunStatus.CRASHED})


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
    base_dir: str | None = None  # the plan's directory, which hashFiles() reads


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


def _evaluate(node: Node, ctx: EvalContext) -> Value:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Ref):
        return _plain(_lookup(node, ctx), node)
    if isinstance(node, Compare):
        left, right = _evaluate(node.left, ctx), _evaluate(node.right, ctx)
        return _COMPARISONS[node.op](left, right)
    if isinstance(node, BoolOp):
        # The deciding operand itself, as in Python and GitHub Actions: `env.X || 'default'` works.
        value: Value = None
        for operand in node.operands:
            value = _evaluate(operand, ctx)
            if is_truthy(value) == (node.op == "or"):
                return value
        return value
    if isinstance(node, Not):
        return not is_truthy(_evaluate(node.operand, ctx))
    if isinstance(node, List):
        return tuple(_evaluate(item, ctx) for item in node.items)
    if isinstance(node, Index):
        return _index(_evaluate(node.base, ctx), _evaluate(node.key, ctx))
    return _call(node, ctx)


_COMPARISONS: dict[str, Callable[[Value, Value], bool]] = {
    "==": equals,
    "!=": lambda left, right: not equals(left, right),
    "<": less,
    "<=": lambda left, right: equals(left, right) or less(left, right),
    ">": greater,
    ">=": lambda left, right: equals(left, right) or greater(left, right),
    "in": lambda item, container: contains(container, item),
    "not in": lambda item, container: not contains(container, item),
}


def _get(mapping: object, key: str) -> object:
    """A mapping's value for `key`; keys ignore case, as in GitHub, with an exact match first."""
    if not isinstance(mapping, Mapping):
        return None
    value = mapping.get(key)
    if value is None and key not in mapping:
        folded = key.lower()
        for candidate, candidate_value in mapping.items():
            if isinstance(candidate, str) and candidate.lower() == folded:
                return candidate_value
    return value


def _index(base: Value, key: Value) -> Value:
    """`base[key]` over plain data: an object's field, an array's item; null when there is none."""
    kind = kind_of(base)
    if kind == OBJECT and is_primitive(key):
        return _get(base, to_text(key))  # type: ignore[return-value]  # parsed JSON values
    if kind == ARRAY:
        number = to_number(key)
        if math.isfinite(number) and 0 <= number < len(base):  # type: ignore[arg-type]
            return base[int(number)]  # type: ignore[index]
    return None


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


def _call(node: Call, ctx: EvalContext) -> Value:
    if node.name == "always":
        return True
    if node.name == "cancelled":
        return ctx.canceled or _status(ctx.run) == RunStatus.CANCELED
    if node.name == "success":
        return _success(ctx)
    if node.name == "failure":
        return _failure(ctx)
    args = [_evaluate(arg, ctx) for arg in node.args]
    try:
        if node.name == "hashFiles":
            from engine.plan.expressions.files import hash_files  # reads files: imported on use

            return hash_files(ctx.base_dir, [to_text(arg) for arg in args])
        function = VALUE_FUNCTIONS[node.name.lower()][3]
        return function(*args)  # type: ignore[return-value]  # plain data by construction
    except (ValueError, OSError) as error:
        raise ExpressionError(str(error), node.column) from None


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
