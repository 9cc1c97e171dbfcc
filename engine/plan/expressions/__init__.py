"""The condition language (`condition`, `skip_if`); the guide is docs/conditions.md.

`parse_expression` turns text into an allow-listed tree (rewrite.py, then parsing.py);
`check_expression` checks it against the plan at validation time, `lint_expression` finds what
deserves a warning; `evaluate` runs it over plain mappings. No condition is ever handed to eval,
and none can reach a Python object's attributes.
"""

from __future__ import annotations

from engine.plan.expressions.checks import check_expression
from engine.plan.expressions.evaluation import EvalContext, evaluate, is_truthy, should_run
from engine.plan.expressions.lints import lint_expression
from engine.plan.expressions.parsing import (
    FUNCTIONS,
    MAX_DEPTH,
    MAX_SOURCE_CHARS,
    MAX_STRING_CHARS,
    STATUS_FUNCTIONS,
    parse_expression,
)
from engine.plan.expressions.tree import Expression, ExpressionError

__all__ = [
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_SOURCE_CHARS",
    "MAX_STRING_CHARS",
    "STATUS_FUNCTIONS",
    "EvalContext",
    "Expression",
    "ExpressionError",
    "check_expression",
    "evaluate",
    "is_truthy",
    "lint_expression",
    "parse_expression",
    "should_run",
]
