"""The condition language against GitHub's own expression test data (tests/plan/github_expressions).

Every case whose features the language supports is run; the few that still differ are listed
here with the reason, as in docs/conditions.md ("Differences from GitHub Actions"), and each
difference also has a test of its own below.
"""

from __future__ import annotations

import pytest

from engine.plan.expressions import (
    EvalContext,
    ExpressionError,
    check_expression,
    evaluate,
    parse_expression,
)
from tests.plan.github_expressions.conformance import Case, agrees, load_cases, out_of_scope

CASES = load_cases()
IN_SCOPE = [case for case in CASES if out_of_scope(case) is None]

EMPTY = "an empty condition is a mistake in a plan, not null"
BACKSLASH = "a backslash in a string starts an escape (\\n, \\'), GitHub keeps it as it is"
LINES = "a string cannot span lines"
FIELDS = "fields and indexes follow only steps, vars, env, run and fromJSON(), not any (...)"
# Artefacts of reading a case's contexts as fromJSON(env.NAME), not differences of the language:
SAME_OBJECT = "each fromJSON() makes a new object; GitHub compares objects by identity"
ONE_DEEPER = "fromJSON(env.NAME) is one level deeper than GitHub's context, past the depth limit"

KNOWN_DIFFERENCES = {
    "basic:empty_expression:": EMPTY,
    'fromJSON:basics:fromJSON(\'"abc\\\\\\"def"\')': BACKSLASH,
    "tojson:basics:tojson('abc\\\"def')": BACKSLASH,
    "operators_precedence:operator_precedence_._is_higher_than_!:(!foo).bar": FIELDS,
    "op_eq:object:object1 == object1": SAME_OBJECT,
    "op_eq:array:array1 == array1": SAME_OBJECT,
    "op_ne:object:object1 != object1": SAME_OBJECT,
    "op_ne:array:array1 != array1": SAME_OBJECT,
    "syntax-errors:depth-errors:foo" + "".join(f"._{i}" for i in range(1, 50)): ONE_DEEPER,
    "syntax-errors:depth-errors:foo" + "".join(f"[{i}]" for i in range(1, 50)): ONE_DEEPER,
}
KNOWN_PREFIXES = {
    'fromJSON:object:fromJSON(\'{"nested-one"': LINES,  # the JSON text spans lines
}


def known_difference(case: Case) -> str | None:
    if case.id in KNOWN_DIFFERENCES:
        return KNOWN_DIFFERENCES[case.id]
    return next((why for prefix, why in KNOWN_PREFIXES.items() if case.id.startswith(prefix)), None)


def test_the_test_data_is_all_there() -> None:
    assert len(CASES) == 1020
    assert len(IN_SCOPE) == 957


def test_at_least_95_percent_of_the_cases_in_scope_agree_with_github() -> None:
    agreeing = sum(agrees(case)[0] for case in IN_SCOPE)
    assert agreeing / len(IN_SCOPE) >= 0.95
    assert agreeing == len(IN_SCOPE) - 11  # 98.9%: the differences listed above, and no others


@pytest.mark.parametrize("case", IN_SCOPE, ids=[case.id[:120] for case in IN_SCOPE])
def test_a_case_agrees_with_github_or_is_a_listed_difference(case: Case) -> None:
    same, got = agrees(case)
    why = known_difference(case)
    if why is None:
        assert same, f"GitHub: {case.error or case.result}, engine: {got}"
    else:
        assert not same, f"listed as a difference ({why}) but agrees now: remove it from the list"


# --- one test per difference (docs/conditions.md, "Differences from GitHub Actions") --------


def test_difference_an_empty_condition_is_an_error() -> None:
    with pytest.raises(ExpressionError, match="the condition is empty"):
        parse_expression("")


def test_difference_a_backslash_in_a_string_starts_an_escape() -> None:
    assert evaluate(parse_expression("'a\\'b\\n'"), EvalContext()) == "a'b\n"
    with pytest.raises(ExpressionError, match="unsupported escape"):
        parse_expression("'C:\\dir'")


def test_difference_a_string_cannot_span_lines() -> None:
    with pytest.raises(ExpressionError, match="control characters"):
        parse_expression("'one\ntwo'")


def test_difference_fields_follow_only_names_and_fromjson() -> None:
    with pytest.raises(ExpressionError, match="fields and indexes can only follow"):
        parse_expression("(!vars.X).bar")
    assert evaluate(parse_expression("fromJSON('{\"a\": 1}').a"), EvalContext()) == 1


def test_difference_of_the_harness_each_fromjson_is_a_new_object() -> None:
    ctx = EvalContext(env={"O": "{}"})
    assert evaluate(parse_expression("fromJSON(env.O) == fromJSON(env.O)"), ctx) is False


def test_difference_of_the_harness_fromjson_counts_towards_the_depth_limit() -> None:
    fields = "".join(f"._{i}" for i in range(1, 50))
    with pytest.raises(ExpressionError, match="nested more than 50 levels"):
        parse_expression("fromJSON(env.O)" + fields)
    ctx = EvalContext(env={"O": "{}"})
    assert evaluate(parse_expression("fromJSON(env.O)" + fields[:-4]), ctx) is None


def test_difference_no_dollar_braces() -> None:
    with pytest.raises(ExpressionError, match="without"):
        parse_expression("${{ success() }}")


def test_difference_step_and_variable_names_are_case_sensitive_and_checked() -> None:
    expr = parse_expression("steps.Build.status == 'succeeded' && vars.branch == 'main'")
    problems = check_expression(expr, known_steps={"build"}, ancestors=None, known_vars={"BRANCH"})
    assert [p.message for p in problems] == [
        "there is no step 'Build'; did you mean 'build'?",
        "there is no variable 'branch' in vars; did you mean 'BRANCH'?",
    ]


def test_difference_no_star_filter() -> None:
    with pytest.raises(ExpressionError, match="the '\\*' filter"):
        parse_expression("fromJSON(env.X)[*].name")


def test_difference_python_spelling_works_too() -> None:
    ctx = EvalContext(vars={"A": "x"})
    assert evaluate(parse_expression("not vars.A == 'y' and 'x' in [\"x\", None]"), ctx) is True
    assert evaluate(parse_expression("!vars.A == 'y'"), ctx) is False  # (!'x') == 'y'
