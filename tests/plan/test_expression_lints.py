"""Warnings about conditions GitHub would evaluate, but hardly as meant (docs/conditions.md)."""

from __future__ import annotations

import pytest

from engine.plan.expressions import lint_expression, parse_expression


def warnings(source: str) -> list[str]:
    return [warning.message for warning in lint_expression(parse_expression(source))]


@pytest.mark.parametrize(
    ("source", "fragment", "column"),
    [
        ("vars.DRY_RUN", "every string but '' is true, 'false' too", 1),
        ("!steps.a.outputs.ok", "compare it: steps['a'].outputs.ok == 'true'", 2),
        ("vars.DEPLOY == true", "write vars.DEPLOY == 'true'", 16),
        ("false != env.CI", "env.CI is a string and false reads as 0", 1),
        ("steps.b.exit_code == 'zero'", "'zero' is not a number, so '==' with", 22),
        ("steps.b.exit_code != 'zero'", "is always true", 22),
        ("steps.b.status == 0", "is a status name, so '==' with a number is constant", 19),
        ("vars.BRANCH == ['main', 'dev']", "a list equals only itself", 1),
    ],
)
def test_a_suspicious_condition_draws_a_warning(source: str, fragment: str, column: int) -> None:
    [warning] = lint_expression(parse_expression(source))
    assert fragment in warning.message
    assert warning.column == column


@pytest.mark.parametrize(
    "source",
    [
        "vars.DRY_RUN == 'true'",
        "steps.b.exit_code == '0'",  # a number in a string is a number
        "steps.b.exit_code > 1",
        "steps.b.status == 'failed'",
        "vars.BRANCH in ['main', 'dev']",
        "success() && vars.X",  # only a condition that is nothing but a string is suspicious
        "fromJSON(steps.a.outputs.info).ok == true",
        "steps.b.exit_code",
    ],
)
def test_a_sensible_condition_draws_none(source: str) -> None:
    assert warnings(source) == []
