"""The condition language (docs/conditions.md): parsing, checks, evaluation, random input."""

from __future__ import annotations

import contextlib
import math

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine.plan.expressions import (
    EvalContext,
    Expression,
    ExpressionError,
    check_expression,
    evaluate,
    is_truthy,
    parse_expression,
    should_run,
)
from engine.states import RunStatus, StepStatus


def value_of(source: str, ctx: EvalContext | None = None) -> object:
    return evaluate(parse_expression(source), ctx or EvalContext())


def parse_error(source: str) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        parse_expression(source)
    return caught.value


def eval_error(source: str, ctx: EvalContext | None = None) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        value_of(source, ctx)
    return caught.value


def checked(
    source: str,
    *,
    steps: set[str],
    ancestors: set[str] | None = None,
    known_vars: set[str] | None = None,
) -> list[str]:
    expr = parse_expression(source)
    problems = check_expression(expr, known_steps=steps, ancestors=ancestors, known_vars=known_vars)
    return [problem.message for problem in problems]


RESULTS: dict[str, dict[str, object]] = {
    "build": {"status": "succeeded", "exit_code": 0, "outputs": {"sha": "abc123", "n": "3"}},
    "my-step": {"status": StepStatus.FAILED, "exit_code": 2, "outputs": {}},
    "v1.2": {"status": "skipped", "exit_code": None, "outputs": {}},
}
CTX = EvalContext(
    steps=RESULTS,
    dependencies=("build",),
    vars={"BRANCH": "main", "EMPTY": ""},
    env={"HOME": "/home/me"},
    run={"id": "r-01", "status": RunStatus.RUNNING},
)


# --- parsing -------------------------------------------------------------------------------------


def test_a_parsed_expression_lists_what_it_refers_to() -> None:
    expr = parse_expression(
        "steps.build.status == 'succeeded' and steps['my-step'].exit_code != 0 "
        "and steps.build.outputs.sha != '' and vars.BRANCH == 'main' and env.CI != null and run.id"
    )
    assert expr.step_refs == {
        ("build", "status"),
        ("my-step", "exit_code"),
        ("build", "outputs.sha"),
    }
    assert expr.var_refs == {"BRANCH"}
    assert expr.env_refs == {"CI"}
    assert not expr.uses_status_function


@pytest.mark.parametrize(
    "source", ["success()", "failure() or x == 1", "not always()", "cancelled()"]
)
def test_status_functions_are_noticed_anywhere(source: str) -> None:
    try:
        expr = parse_expression(source)
    except ExpressionError:
        expr = parse_expression(source.replace("x == 1", "true"))
    assert expr.uses_status_function


def test_value_functions_are_not_status_functions() -> None:
    assert not parse_expression("contains('abc', 'b')").uses_status_function


@pytest.mark.parametrize(
    ("dotted", "step_id", "field"),
    [
        ("steps.my-step.status", "my-step", "status"),
        ("steps.v1.2.exit_code", "v1.2", "exit_code"),
        ("steps.a.b.c.outputs.sha", "a.b.c", "outputs.sha"),
        ("steps.1st.status", "1st", "status"),
        ("steps.if.status", "if", "status"),
        ("steps.a.outputs.status", "a", "outputs.status"),
        ("steps.x.status.status", "x.status", "status"),
        ("steps.deploy-prod.outputs.url", "deploy-prod", "outputs.url"),
    ],
)
def test_dashed_and_dotted_step_ids_read_like_the_index_form(
    dotted: str, step_id: str, field: str
) -> None:
    assert parse_expression(dotted).step_refs == {(step_id, field)}
    index_form = f"steps[{step_id!r}]." + field
    assert parse_expression(index_form).step_refs == {(step_id, field)}


def test_a_step_path_inside_a_string_is_left_alone() -> None:
    expr = parse_expression("'steps.my-step.status' == \"steps.a-b.exit_code\"")
    assert expr.step_refs == frozenset()
    assert value_of("'steps.my-step.status'") == "steps.my-step.status"


def test_outputs_can_be_indexed_too() -> None:
    assert parse_expression("steps.my-step.outputs['sha']").step_refs == {
        ("my-step", "outputs.sha")
    }


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("true", True),
        ("True", True),
        ("false", False),
        ("False", False),
        ("null", None),
        ("None", None),
        ("42", 42),
        ("-7", -7),
        ("2.5", 2.5),
        ("-0.5", -0.5),
        ("'it''s'", "it's"),  # GitHub's way to write a quote in a string
        ("0xff", 255),
        ("0o17", 15),
        ("+1", 1),
        ("-Infinity", -math.inf),
        ("99999999999999999999", 1e20),  # numbers are doubles, as in GitHub
        ("1.5e3", 1500.0),
        ("1e-2", 0.01),
        ("'a\\'b'", "a'b"),
        ('"tab\\there"', "tab\there"),
        ("'\\x41\\u00e9'", "Aé"),
        ("'é ✓'", "é ✓"),
        ("[1, 'a', null]", (1, "a", None)),
        ("('x', 'y')", ("x", "y")),
        ("[]", ()),
    ],
)
def test_literals(source: str, value: object) -> None:
    assert value_of(source) == value


def test_a_condition_may_span_lines_and_have_blanks_around() -> None:
    source = "  success()\n  and vars.BRANCH == 'main'\n"
    assert value_of(source, CTX) is True


@pytest.mark.parametrize(
    ("source", "fragment", "column"),
    [
        ("", "empty", None),
        ("   ", "empty", None),
        ("${{ success() }}", "without ${{ }}", 1),
        ("success() # why", "comments", 11),
        ("'abc", "unterminated string", 1),
        ('"""abc"""', "triple-quoted", 1),
        ("'a\\qb'", "unsupported escape", 3),
        ("'a\\x4'", "unsupported escape", 3),
        ("'a\nb'", "control characters", 3),
        ("r'x'", "string prefixes", 1),
        ("b'x'", "string prefixes", 1),
        ("steps.α.status", "non-ASCII", 7),
        ("steps.my-step.status == 'x' and bad", "unknown name 'bad'", 33),
        ("steps.my-step.state", "not a step reference", 1),
        ("steps.my-step", "not a step reference", 1),
        ("steps.build", "write steps.ID.status", 1),
        ("steps.build.outputs", "write steps.ID.status", 1),
        ("steps['build'].exit_code.real", "write steps.ID.status", 1),
        ("steps", "'steps' needs a field", 1),
        ("vars", "'vars' needs a field", 1),
        ("vars.A.B", "write vars.NAME", 1),
        ("run.owner", "write run.id or run.status", 1),
        ("vars['']", "write vars.NAME", 1),
        ("success", "call it as success()", 1),
        ("canceled()", "did you mean cancelled()", 1),
        ("success(1)", "takes no arguments", 1),
        ("contains('a')", "takes 2 arguments", 1),
        ("join()", "takes 1 or 2 arguments", 1),
        ("case(true, 1)", "an odd number of arguments", 1),
        ("1 ~ 2", "'~' is not supported", 3),
        ("vars.X.*", "the '*' filter", 8),
        ("0x1g", "is not a number", 1),
        ("vars.A is None", "'is' is not supported", 1),
        ("1 + 1 == 2", "arithmetic", 3),
        ("x if true else y", "combine conditions", 1),
        ("{'a': 1}", "dict literals", 1),
        ("- -1", "directly before a number", 1),
        ("-vars.X", "directly before a number", 1),
        ("1j", "must not run into letters", 1),
        ("...", "is not a number", 1),
        ("vars[vars.X]", "quoted string", 6),
        ("steps[0].status", "quoted string", 7),
        ("success() and", "syntax error", None),
        ("(true", "syntax error", None),
        ("'" + "a" * 1025 + "'", "longer than 1024", 1),
        ("1in [1]", "must not run into letters", 1),
        ("1_000 == 1000", "must not run into letters", 1),
    ],
)
def test_parse_errors_are_one_clear_sentence_with_a_column(
    source: str, fragment: str, column: int | None
) -> None:
    error = parse_error(source)
    assert fragment in error.message
    if column is not None:
        assert error.column == column
    assert "\n" not in error.message
    assert str(error).startswith(error.message)


def test_a_syntax_error_points_into_the_users_text() -> None:
    error = parse_error("steps.my-step.status == == 'x'")
    assert error.message.startswith("syntax error")
    assert error.column == 25


@pytest.mark.parametrize("source", ["steps.my-step.status ==", "  success() and", "not"])
def test_a_condition_that_ends_too_early_says_so_at_its_end(source: str) -> None:
    error = parse_error(source)
    assert error.message == "syntax error: the condition ends too early"
    assert error.column == len(source) + 1


def test_parse_expression_rejects_non_strings() -> None:
    assert "must be a string" in parse_error(b"true").message  # type: ignore[arg-type]


def test_expressions_are_values() -> None:
    assert parse_expression("success()") == parse_expression("success()")
    assert hash(parse_expression("true")) == hash(parse_expression("true"))


# --- static checks -------------------------------------------------------------------------------


def test_check_accepts_a_good_condition() -> None:
    source = "steps.build.status == 'succeeded' and vars.BRANCH in ['main', 'dev'] and failure()"
    assert checked(source, steps={"build"}, ancestors={"build"}, known_vars={"BRANCH"}) == []


def test_unknown_step_is_named_with_a_suggestion_and_column() -> None:
    expr = parse_expression("true and steps.biuld.status == 'succeeded'")
    [problem] = check_expression(
        expr, known_steps={"build", "test"}, ancestors=None, known_vars=None
    )
    assert problem.message == "there is no step 'biuld'; did you mean 'build'?"
    assert problem.column == 10


def test_a_step_that_does_not_finish_first_cannot_be_seen() -> None:
    [message] = checked("steps.test.exit_code == 0", steps={"build", "test"}, ancestors={"build"})
    assert "'test' does not finish before this step" in message
    assert "depends_on" in message


def test_ancestors_none_skips_the_ancestor_check() -> None:
    assert checked("steps.test.exit_code == 0", steps={"test"}, ancestors=None) == []


def test_unknown_vars_are_errors_only_when_vars_are_known() -> None:
    source = "vars.BRANHC == 'main'"
    [message] = checked(source, steps=set(), known_vars={"BRANCH"})
    assert message == "there is no variable 'BRANHC' in vars; did you mean 'BRANCH'?"
    assert checked(source, steps=set(), known_vars=None) == []
    assert checked("env.ANYTHING == 'x'", steps=set(), known_vars=set()) == []


def test_each_unknown_name_is_reported_once() -> None:
    source = "steps.x.status == 'failed' or steps.x.exit_code == 1 or vars.Q == '' or vars.Q == 'a'"
    assert len(checked(source, steps=set(), known_vars=set())) == 2


def test_dunder_step_ids_are_just_missing_steps() -> None:
    [message] = checked("steps['__class__'].status == 'failed'", steps={"build"})
    assert message == "there is no step '__class__'"


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("steps.build.status == 'sucess'", "'sucess' is not a step status"),
        ("steps.build.status in ['succeeded', 'skiped']", "'skiped' is not a step status"),
        ("'done' != steps.build.status", "'done' is not a step status"),
        ("run.status == 'cancelled'", "'cancelled' is not a run status"),
    ],
)
def test_check_catches_comparisons_that_cannot_hold(source: str, fragment: str) -> None:
    messages = checked(source, steps={"build"}, known_vars={"BRANCH"})
    assert any(fragment in message for message in messages), messages


@pytest.mark.parametrize(
    "source",
    [
        "steps.build.exit_code == null",
        "steps.build.exit_code >= 1",
        "vars.BRANCH == null or vars.BRANCH < 'm'",
        "(vars.BRANCH or 'main') == 'main'",
        "(vars.BRANCH or 1) == 1",
        "1 in [1, 2]",
        "vars.BRANCH in 'main dev'",
        "contains(vars.BRANCH, 'ai')",
        "startsWith(env.HOME, '/')",
        "steps.build.status == 'reused'",
        # GitHub converts across kinds, so none of these is a mistake any more.
        "steps.build.exit_code == '0'",
        "vars.BRANCH != 1",
        "steps.build.status > 3",
        "'a' in 3",
        "contains(steps.build.exit_code, 1)",
        "startsWith(vars.BRANCH, 1)",
        "run.status == 'partial'",
    ],
)
def test_check_leaves_sensible_comparisons_alone(source: str) -> None:
    assert checked(source, steps={"build"}, known_vars={"BRANCH"}) == []


# --- evaluation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("steps.build.status == 'succeeded'", True),
        ("steps.my-step.status == 'failed'", True),  # a StrEnum value reads as its string
        ("steps['my-step'].exit_code", 2),
        ("steps.v1.2.exit_code == null", True),
        ("steps.build.outputs.sha", "abc123"),
        ("steps.build.outputs.missing", None),
        ("steps.nope.status", None),
        ("steps['__class__'].status", None),
        ("vars.BRANCH", "main"),
        ("vars.NOPE", None),
        ("env.HOME", "/home/me"),
        ("env.NOPE", None),
        ("run.id", "r-01"),
        ("run.status == 'running'", True),
        ("1 == 1.0", True),
        ("1 == '1'", True),  # GitHub's loose equality: the string is read as a number
        ("true == 1", True),
        ("false == 0", True),
        ("null == null", True),
        ("null != false", False),  # both read as 0
        ("'ABC' == 'abc'", True),  # strings ignore case
        ("[1, 'a'] == [1.0, 'a']", False),  # arrays are equal only to themselves
        ("true > false", True),
        ("null < 1", True),
        ("'10' > 9", True),
        ("3 < 2 < 1", True),  # (3 < 2) < 1, read left to right
        ("!2 < 3", True),  # (!2) < 3: ! binds tighter than comparisons
        ("not 2 < 3", False),  # not (2 < 3): Python's not stays loose
        ("1 == 1 && 2", 2.0),
        ("0 || 'x'", "x"),
        ("2 > 1.5", True),
        ("'abc' < 'abd'", True),
        ("steps.build.outputs.n >= '10'", True),  # strings compare as strings, not numbers
        ("'ai' in vars.BRANCH", True),
        ("'main' in ['main', 'dev']", True),
        ("1 not in [1.0]", False),
        ("contains(vars.BRANCH, 'AI')", True),  # case is ignored, as in GitHub Actions
        ("contains('1234', 23)", True),
        ("format('{0}-{1}', vars.BRANCH, 2)", "main-2"),
        ("join(['a', 'b'], '+')", "a+b"),
        ("toJSON([1, 'a'])", '[\n  1,\n  "a"\n]'),
        ("fromJSON('{\"a\": [1, 2]}').a[1]", 2.0),
        ("fromJSON(steps.build.outputs.n) > 2", True),
        ("contains(['a', 'b'], 'b')", True),
        ("startsWith(env.HOME, '/home')", True),
        ("endsWith(env.HOME, 'me')", True),
        ("not vars.EMPTY", True),
        ("vars.EMPTY or 'fallback'", "fallback"),
        ("vars.BRANCH and 'x'", "x"),
        ("vars.EMPTY and 'x'", ""),
        ("not (true and false) or false", True),
    ],
)
def test_evaluation(source: str, value: object) -> None:
    result = value_of(source, CTX)
    assert result == value and type(result) is type(value)


def test_and_or_short_circuit_so_a_guard_protects_a_comparison() -> None:
    ctx = EvalContext(steps={"a": {"status": "skipped", "exit_code": None}})
    assert value_of("steps.a.exit_code != null and steps.a.exit_code > 0", ctx) is False
    assert value_of("steps.a.exit_code == null or steps.a.exit_code > 0", ctx) is True
    assert value_of("steps.a.exit_code > -1", ctx) is True  # null reads as 0, as in GitHub


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("fromJSON('')", "fromJSON() was given an empty string"),
        ("fromJSON('{')", "fromJSON() was given text that is not JSON"),
        ("fromJSON('NaN')", "not JSON"),
        ("format('{1}', 'a')", "refers to more arguments than were given"),
        ("format('{x}')", "the format string is invalid"),
        ("case(1, 'a', 'b')", "a case() predicate must be true or false"),
        ("format('{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}', "
         "format('{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}', "
         "format('{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}', "
         "format('{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}', "
         "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'))))", "longer than 1,000,000"),
    ],
)  # fmt: skip
def test_evaluation_errors_are_clear_and_never_crash(source: str, fragment: str) -> None:
    error = eval_error(source, CTX)
    assert fragment in error.message
    assert error.column is not None


def test_an_unusable_value_in_the_context_is_an_evaluation_error() -> None:
    ctx = EvalContext(steps={"a": {"status": ["not", "a", "string"]}})
    error = eval_error("steps.a.status == 'x'", ctx)
    assert error.message == "steps['a'].status is not a string, number, boolean or null"


def test_evaluation_never_touches_attributes_of_context_objects() -> None:
    class Sneaky:
        status = "succeeded"

        def __getattr__(self, name: str) -> str:
            raise AssertionError("attribute access")

    ctx = EvalContext(steps={"a": Sneaky()})  # type: ignore[dict-item]
    assert value_of("steps.a.status", ctx) is None


# --- status functions ----------------------------------------------------------------------------


def status_ctx(*statuses: str, canceled: bool = False, run_status: str = "running") -> EvalContext:
    steps = {f"d{i}": {"status": status} for i, status in enumerate(statuses)}
    return EvalContext(
        steps=steps, dependencies=tuple(steps), run={"status": run_status}, canceled=canceled,
        in_hook=run_status != "running",  # only a run hook sees the run's outcome
    )  # fmt: skip


@pytest.mark.parametrize(
    ("ctx", "success", "failure", "cancelled"),
    [
        (status_ctx(), True, False, False),
        (status_ctx("succeeded", "reused", "skipped"), True, False, False),
        (status_ctx("succeeded", "failed"), False, True, False),
        (status_ctx("abandoned"), False, True, False),
        (status_ctx("canceled"), False, False, False),
        (status_ctx("succeeded", canceled=True), False, False, True),
        (status_ctx("failed", canceled=True), False, False, True),
        (status_ctx(run_status="failed"), False, True, False),  # a run hook after a failed run
        (status_ctx(run_status="partial"), False, True, False),
        (status_ctx(run_status="succeeded"), True, False, False),
        (status_ctx(run_status="canceled"), False, False, True),
        # A main step while the run aborts: the run failed, but its dependency did not.
        (EvalContext(run={"status": "failed"}, dependencies=()), False, False, False),
    ],
)
def test_status_functions(ctx: EvalContext, success: bool, failure: bool, cancelled: bool) -> None:
    assert value_of("success()", ctx) is success
    assert value_of("failure()", ctx) is failure
    assert value_of("cancelled()", ctx) is cancelled
    assert value_of("always()", ctx) is True


def test_a_dependency_without_a_result_has_not_succeeded() -> None:
    ctx = EvalContext(steps={}, dependencies=("ghost",))
    assert value_of("success()", ctx) is False
    assert value_of("failure()", ctx) is False


def test_should_run_adds_success_unless_a_status_function_is_named() -> None:
    failed = status_ctx("failed")
    fine = status_ctx("succeeded")
    assert should_run(None, fine) and not should_run(None, failed)
    assert should_run(parse_expression("true"), fine)
    assert not should_run(parse_expression("true"), failed)
    assert should_run(parse_expression("always()"), failed)
    assert should_run(parse_expression("failure()"), failed)
    assert not should_run(parse_expression("failure()"), fine)
    assert should_run(parse_expression("always()"), status_ctx(canceled=True))
    assert not should_run(parse_expression("true"), status_ctx(canceled=True))


def test_should_run_does_not_evaluate_when_success_fails() -> None:
    failed = status_ctx("failed")
    assert not should_run(parse_expression("steps.d0.exit_code > 0"), failed)  # null > 0 not run


@pytest.mark.parametrize(
    ("value", "truthy"),
    [
        (None, False),
        (False, False),
        (True, True),
        (0, False),
        (0.0, False),
        (-1, True),
        (math.nan, False),
        (10**400, True),
        ("", False),
        ("false", True),
        ("0", True),
        ((), True),  # arrays and objects are always true in GitHub
        ((0,), True),
        ([], True),
        ({}, True),
        (object(), True),
    ],
)
def test_is_truthy(value: object, truthy: bool) -> None:
    assert is_truthy(value) is truthy


# --- properties over random input ----------------------------------------------------------------

STEP_IDS = st.from_regex(r"[A-Za-z0-9_.-]{1,12}", fullmatch=True)
TOKENS = [
    "steps",
    "vars",
    "env",
    "run",
    ".",
    "[",
    "]",
    "(",
    ")",
    ",",
    "'a'",
    '"b"',
    "'",
    '"',
    "-",
    "my-step",
    "status",
    "exit_code",
    "outputs",
    "x",
    "==",
    "!=",
    "<",
    ">=",
    "in",
    "not",
    "and",
    "or",
    "true",
    "null",
    "None",
    "1",
    "2.5",
    "success",
    "contains",
    "startsWith",
    "__class__",
    "lambda",
    ":",
    "**",
    "f",
    "#",
    "\\",
    "\n",
    "{",
    "}",
    "*",
    "=",
    ":=",
    "if",
    "else",
    "for",
    "é",
    "\x00",
    "\ud800",
    " ",
]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=60), st.lists(st.sampled_from(TOKENS), max_size=25).map("".join)))
def test_parse_expression_raises_only_expression_error(source: str) -> None:
    try:
        expr = parse_expression(source)
    except ExpressionError as error:
        assert error.message and "\n" not in error.message
        assert error.column is None or 1 <= error.column <= len(source) + 1
        return
    assert isinstance(expr, Expression)


@settings(max_examples=150, deadline=None)
@given(STEP_IDS, st.sampled_from(["status", "exit_code", "outputs.sha"]))
def test_any_step_id_can_be_written_dotted_or_indexed(step_id: str, field: str) -> None:
    assume("outputs" not in step_id.split("."))  # `steps.a.outputs.status` is output `status`
    assert parse_expression(f"steps[{step_id!r}].{field}").step_refs == {(step_id, field)}
    assert parse_expression(f"steps.{step_id}.{field}").step_refs == {(step_id, field)}


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=6),
    st.sampled_from(list(StepStatus)),
    st.sampled_from(list(RunStatus)),
)
ANYTHING = st.one_of(
    SCALARS,
    st.lists(SCALARS, max_size=2),
    st.dictionaries(st.text(max_size=3), SCALARS, max_size=2),
    st.builds(object),
)
NAMES = st.sampled_from(["a", "my-step", "v1.2"])
STEP_RESULT = st.fixed_dictionaries(
    {},
    optional={
        "status": st.one_of(st.sampled_from(list(StepStatus)), ANYTHING),
        "exit_code": ANYTHING,
        "outputs": st.one_of(st.dictionaries(st.sampled_from(["sha", "x"]), ANYTHING), ANYTHING),
    },
)
CONTEXTS = st.builds(
    EvalContext,
    steps=st.dictionaries(NAMES, STEP_RESULT, max_size=3),
    dependencies=st.lists(NAMES, max_size=3).map(tuple),
    vars=st.dictionaries(st.sampled_from(["X", "Y"]), st.text(max_size=4)),
    env=st.dictionaries(st.sampled_from(["HOME", "CI"]), st.text(max_size=4)),
    run=st.fixed_dictionaries({}, optional={"id": ANYTHING, "status": ANYTHING}),
    canceled=st.booleans(),
)
ATOMS = st.one_of(
    st.sampled_from(
        [
            "true",
            "false",
            "null",
            "True",
            "None",
            "0",
            "-1",
            "2.5",
            "1e308",
            "''",
            "'succeeded'",
            "'failed'",
            "'a'",
            "success()",
            "failure()",
            "always()",
            "cancelled()",
            "run.id",
            "run.status",
            "env.HOME",
            "env.CI",
            "vars.X",
            "vars.Y",
            "[]",
        ]
    ),
    st.builds("steps.{}.{}".format, NAMES, st.sampled_from(["status", "exit_code", "outputs.sha"])),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=4).map(repr),
)
COMPARISONS = ["==", "!=", "<", "<=", ">", ">=", "in", "not in", "and", "or"]
EXPRESSIONS = st.recursive(
    ATOMS,
    lambda inner: st.one_of(
        st.builds("({}) {} ({})".format, inner, st.sampled_from(COMPARISONS), inner),
        st.builds("not ({})".format, inner),
        st.builds(
            "{}({}, {})".format,
            st.sampled_from(["contains", "startsWith", "endsWith"]),
            inner,
            inner,
        ),
        st.lists(inner, max_size=3).map(lambda items: "[" + ", ".join(items) + "]"),
    ),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EXPRESSIONS, CONTEXTS)
def test_evaluation_raises_only_expression_error(source: str, ctx: EvalContext) -> None:
    expr = parse_expression(source)  # well-formed by construction
    check_expression(expr, known_steps={"a"}, ancestors={"a"}, known_vars={"X"})
    try:
        value = evaluate(expr, ctx)
    except ExpressionError as error:
        assert error.message and error.column is not None
        return
    assert value is None or type(value) in (str, int, float, bool, tuple)
    is_truthy(value)
    with contextlib.suppress(ExpressionError):
        should_run(expr, ctx)
