"""Static checks of a parsed condition against its plan: steps it may see, vars, type slips.

They run at validation time so that a typo fails `engine validate`, not a step an hour into a run.
"""

from __future__ import annotations

import difflib
from collections.abc import Set

from engine.plan.expressions.rewrite import quote
from engine.plan.expressions.tree import (
    Call,
    Compare,
    Expression,
    ExpressionError,
    List,
    Literal,
    Ref,
    walk,
)
from engine.states import RunStatus, StepStatus

_STATUSES = {"steps": [s.value for s in StepStatus], "run": [s.value for s in RunStatus]}


def check_expression(
    expr: Expression,
    *,
    known_steps: Set[str],
    ancestors: Set[str] | None,
    known_vars: Set[str] | None,
) -> list[ExpressionError]:
    """Every problem beyond syntax: unknown or unseen steps, unknown vars, misspelled statuses.

    Comparisons across kinds are not problems: they follow GitHub's conversions (values.py).

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
            problems.extend(_check_status_literals(node))
        elif isinstance(node, Call) and node.name == "hashFiles":
            problems.extend(_check_patterns(node))
    return problems


def _check_patterns(node: Call) -> list[ExpressionError]:
    """A hashFiles() pattern written out that leaves the plan's directory can never match."""
    from engine.plan.expressions.files import check_pattern

    problems = []
    for arg in node.args:
        if isinstance(arg, Literal) and isinstance(arg.value, str):
            problem = check_pattern(arg.value)
            if problem is not None:
                problems.append(ExpressionError(problem, arg.column))
    return problems


def _did_you_mean(name: str, candidates: Set[str]) -> str:
    same_but_case = [c for c in candidates if c.lower() == name.lower()]
    close = same_but_case or difflib.get_close_matches(name, list(candidates), n=1)
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
