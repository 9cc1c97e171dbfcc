"""Known sandbox escapes, from the simpleeval and asteval issue trackers, fail at parse time."""

from __future__ import annotations

import ast
import time
from pathlib import Path

import pytest

import engine.plan.expressions as expressions
from engine.plan.expressions import (
    EvalContext,
    ExpressionError,
    check_expression,
    evaluate,
    parse_expression,
)

DUNDER = "names that start with '__' are not allowed"
ONLY_FOLLOW = "fields and indexes can only follow steps, vars, env or run"
ONLY_FUNCTIONS = "only these functions can be called"

ESCAPES = [
    # Walking from any object to `object.__subclasses__()` and on to os or builtins.
    ("().__class__", DUNDER),
    ("().__class__.__bases__[0].__subclasses__()", DUNDER),
    ("''.__class__.__mro__[1].__subclasses__()", DUNDER),
    ("[].__class__.__base__.__subclasses__()[0].__init__.__globals__", DUNDER),
    ("vars.__dict__", DUNDER),
    ("env.__class__.__init__.__globals__['os']", DUNDER),
    ("run.__class__", DUNDER),
    ("steps['build'].__class__", DUNDER),
    ("__builtins__", DUNDER),
    ("__builtins__['eval']('1')", DUNDER),
    ("__import__('os').system('id')", DUNDER),
    ("success() or __import__('os')", DUNDER),
    ("success().__class__", DUNDER),
    ("steps.build.outputs.__class__", DUNDER),
    # Generator and frame objects lead to f_globals / f_builtins.
    ("(x for x in ()).gi_frame.f_back.f_globals", ONLY_FOLLOW),
    ("(x for x in ()).gi_code", ONLY_FOLLOW),
    ("(x for x in ())", "generator expressions are not allowed"),
    # Format strings read attributes: '{0.__class__}'.format(x).
    ("'{0.__class__}'.format(1)", ONLY_FUNCTIONS),
    ("'{0.__globals__}'.format", ONLY_FOLLOW),
    ("'%s' % vars.X", "arithmetic"),
    ("f'{().__class__}'", "string prefixes"),
    ('F"{vars}"', "string prefixes"),
    ("rf'{x}'", "string prefixes"),
    # Code objects of our own making.
    ("lambda: 1", "lambda expressions are not allowed"),
    ("(lambda: 1)()", ONLY_FUNCTIONS),
    ("[x for x in [1]]", "comprehensions are not allowed"),
    ("{x: 1 for x in [1]}", "comprehensions are not allowed"),
    ("{1, 2}", "set literals are not allowed"),
    ("(y := 1)", "assignment (:=) is not allowed"),
    ("[*vars.X]", "'*' unpacking is not allowed"),
    ("contains(*['a', 'b'])", "'*' unpacking is not allowed"),
    ("contains(**{'a': 1})", "takes no keyword arguments"),
    ("startsWith(vars.X, prefix='a')", "takes no keyword arguments"),
    # Resource exhaustion.
    ("9**9**9", "arithmetic"),
    ("2 ** 10000000 > 1", "arithmetic"),
    ("'a' * 10**9", "arithmetic"),
    # Calling anything but the listed functions.
    ("open('/etc/passwd')", "unknown function 'open'"),
    ("eval('1')", "unknown function 'eval'"),
    ("exec('1')", "unknown function 'exec'"),
    ("compile('1', '', 'eval')", "unknown function 'compile'"),
    ("getattr(vars, 'x')", "unknown function 'getattr'"),
    ("globals()", "unknown function 'globals'"),
    ("breakpoint()", "unknown function 'breakpoint'"),
    ("success()()", ONLY_FUNCTIONS),
    ("vars.X.upper()", ONLY_FUNCTIONS),
    ("success().real", ONLY_FOLLOW),
    ("contains('a', 'b').imag", ONLY_FOLLOW),
    # Lookalikes and smuggling.
    ("ｓｔｅｐｓ.a.status", "non-ASCII"),
    ("vars._\uff3fdict_\uff3f", "non-ASCII"),
    ("success() # and more", "comments are not supported"),
    ("success() \\\n or 1", "a backslash is only allowed in a string"),
    ("success()\x00", "control characters are not allowed"),
    ("'\\N{BULLET}'", "unsupported escape"),
    ("vars[1:2]", "an index must be a quoted string"),
    ("vars[vars.X]", "an index must be a quoted string"),
    ("await vars.X", "'await' is not allowed"),
    ("x if 1 else y", "is not supported"),
]


@pytest.mark.parametrize(("source", "fragment"), ESCAPES, ids=[s for s, _ in ESCAPES])
def test_escape_is_rejected_at_parse_time(source: str, fragment: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_expression(source)
    assert fragment in caught.value.message
    assert caught.value.column is not None


@pytest.mark.parametrize(
    "source",
    [
        "steps['__class__'].status",
        "steps.__class__.status",
        "steps['__globals__'].outputs['__builtins__']",
        "vars['__dict__']",
        "env['__class__']",
    ],
)
def test_dunder_keys_are_plain_data_never_object_access(source: str) -> None:
    expr = parse_expression(source)
    ctx = EvalContext(steps={"build": {"status": "succeeded", "outputs": {}}})
    assert evaluate(expr, ctx) is None  # a missing key, looked up in a plain dict
    problems = check_expression(expr, known_steps={"build"}, ancestors=None, known_vars={"X"})
    if expr.step_refs or expr.var_refs:
        assert problems and problems[0].message.startswith("there is no")


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("(" * 10_000 + "true" + ")" * 10_000, "longer than 4096 characters"),
        ("not " * 100_000 + "true", "longer than 4096 characters"),
        ("true or " * 1_000_000 + "true", "longer than 4096 characters"),
        ("(" * 2_000 + "true" + ")" * 2_000, "too many nested parentheses"),
        ("not " * 1_000 + "true", "nested more than 50 levels deep"),
        ("[" * 150 + "]" * 150, "nested more than 50 levels deep"),
        ("- " * 2_000 + "1", "directly before a number"),
        ("vars" + ".X" * 2_000, "write vars.NAME"),
        ("success" + "()" * 2_000, ONLY_FUNCTIONS),
        ("'" + "x" * 2_000 + "'", "longer than 1024 characters"),
    ],
)
def test_huge_or_deep_input_is_rejected_quickly(source: str, fragment: str) -> None:
    started = time.thread_time()  # CPU time: a busy machine's wall clock counts other processes
    with pytest.raises(ExpressionError) as caught:
        parse_expression(source)
    assert fragment in caught.value.message
    assert time.thread_time() - started < 1.0


def test_deep_but_allowed_nesting_evaluates_without_recursion_trouble() -> None:
    expr = parse_expression("not " * 48 + "true")
    assert evaluate(expr, EvalContext()) is True


def test_the_package_never_calls_eval_exec_compile_getattr_or_format() -> None:
    builtins = {"eval", "exec", "compile", "getattr", "setattr", "vars", "__import__"}
    methods = {"format", "format_map", "__getattribute__"}
    package = Path(expressions.__file__).parent
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            where = f"{path.name}:{node.lineno}"
            if isinstance(node.func, ast.Name):
                assert node.func.id not in builtins, f"{where} calls {node.func.id}"
            if isinstance(node.func, ast.Attribute):
                assert node.func.attr not in methods, f"{where} calls .{node.func.attr}"
