"""Whether a step that has a `condition` or `skip_if` runs, is skipped, or fails
(docs/conditions.md).

The scheduler imports this module only for plans that have conditions: the condition language costs
a few milliseconds to import, which a plan without conditions should not pay on every run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import Enum

from engine.plan.expressions import (
    EvalContext,
    Expression,
    ExpressionError,
    evaluate,
    is_truthy,
    parse_expression,
)
from engine.plan.spec import Step
from engine.run.state import ScheduledStep


class Decision(Enum):
    RUN = "run"
    BLOCKED = "blocked"  # a dependency did not succeed, or the run is stopping
    SKIP = "skip"  # the step's own condition said so: dependents may proceed
    FAIL = "fail"  # the condition could not be evaluated


def parse(step: Step) -> tuple[Expression | None, tuple[Expression, ...]]:
    """The step's condition and skip_if expressions (validation has already accepted them)."""
    condition = None if step.condition is None else parse_expression(step.condition)
    return condition, tuple(parse_expression(text) for text in step.skip_ifs)


def decide(
    step: ScheduledStep,
    blocker: Callable[[ScheduledStep], str | None],
    *,
    views: Mapping[str, Mapping[str, object]],
    variables: Mapping[str, str],
    env: Mapping[str, str],
    run_id: str,
    run_status: str,
    canceled: bool,
    base_dir: str | None = None,
) -> tuple[Decision, str | None]:
    """GitHub's rule: a condition without a status function also needs its dependencies' success."""
    condition = step.condition
    context = EvalContext(
        steps=views,
        dependencies=tuple(step.spec.depends_on),
        vars=variables,
        env=env,
        run={"id": run_id, "status": run_status},
        canceled=canceled,
        in_hook=step.group != "steps",
        base_dir=base_dir,
    )
    try:
        if condition is None or not condition.uses_status_function:
            reason = blocker(step)
            if reason is not None:
                return Decision.BLOCKED, reason
        if condition is not None and not is_truthy(evaluate(condition, context)):
            return Decision.SKIP, f"condition was false: {condition.source}"
        for expression in step.skip_ifs:
            if is_truthy(evaluate(expression, context)):
                return Decision.SKIP, f"skip_if was true: {expression.source}"
    except ExpressionError as error:
        return Decision.FAIL, f"condition could not be evaluated: {error.message}"
    return Decision.RUN, None
