"""Text to tree: Python's parser for precedence, then an explicit allow-list copied into our nodes.

Only the fields of allowed node kinds are read from the Python AST, and every rejection happens
here, before anything could be evaluated.
"""

from __future__ import annotations

import ast

from engine.plan.expressions.rewrite import prepare, quote
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
    walk,
)

MAX_SOURCE_CHARS = 4096
MAX_DEPTH = 50  # far below Python's recursion limit, which the tree walks rely on
MAX_STRING_CHARS = 1024
MAX_INT = 2**63 - 1
MAX_NAME_CHARS = 200
STATUS_FUNCTIONS = frozenset({"success", "failure", "always", "cancelled"})
VALUE_FUNCTIONS = frozenset({"contains", "startsWith", "endsWith"})  # each takes two arguments
FUNCTIONS = STATUS_FUNCTIONS | VALUE_FUNCTIONS

_ROOT_EXAMPLES = {
    "steps": "steps.ID.status, steps.ID.exit_code or steps.ID.outputs.NAME",
    "vars": "vars.NAME",
    "env": "env.NAME",
    "run": "run.id or run.status",
}
_LITERAL_NAMES: dict[str, bool | None] = {"true": True, "false": False, "null": None}
_COMPARE_OPS: dict[type[ast.cmpop], str] = {
    ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
    ast.In: "in", ast.NotIn: "not in",
}  # fmt: skip
_REJECTED: dict[type[ast.AST], str] = {
    ast.BinOp: "arithmetic is not supported in conditions",
    ast.Lambda: "lambda expressions are not allowed",
    ast.NamedExpr: "assignment (:=) is not allowed",
    ast.JoinedStr: "f-strings are not allowed",
    ast.IfExp: "'x if c else y' is not supported; combine conditions with 'and' and 'or'",
    ast.Dict: "dict literals are not allowed",
    ast.Set: "set literals are not allowed",
    ast.Starred: "'*' unpacking is not allowed",
    ast.Slice: "slices are not allowed",
    ast.Await: "'await' is not allowed",
    ast.Yield: "'yield' is not allowed",
    ast.YieldFrom: "'yield' is not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "generator expressions are not allowed",
}


def parse_expression(source: str) -> Expression:
    """Parse and allow-list one condition; raises ExpressionError and nothing else on bad input."""
    if not isinstance(source, str):
        raise ExpressionError("a condition must be a string")
    if len(source) > MAX_SOURCE_CHARS:
        raise ExpressionError(f"the condition is longer than {MAX_SOURCE_CHARS} characters")
    if not source.strip():
        raise ExpressionError("the condition is empty")
    text, origin = prepare(source)
    indent = len(text) - len(text.lstrip(" "))  # ast.parse, unlike eval(), rejects leading blanks
    text, origin = text[indent:], origin[indent:]
    converter = _Converter(text, origin, len(source))
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as error:
        message = (error.msg or "invalid syntax").split(" (detected at")[0]
        if not error.offset:  # Python's way of saying the text ended where more was needed
            message = "the condition ends too early" if message == "invalid syntax" else message
        column = converter.column_of_char((error.offset or len(text) + 1) - 1)
        raise ExpressionError(f"syntax error: {message}", column) from None
    except (ValueError, RecursionError, MemoryError, OverflowError):
        # ast.parse runs out of stack on deep nesting (MemoryError, RecursionError); ValueError is
        # for text it cannot encode. Each is the input's fault, so it is reported, not raised.
        raise ExpressionError("the condition is too deeply nested or not valid text") from None
    root = converter.convert(tree.body, 1)
    refs = [node for node in walk(root) if isinstance(node, Ref)]
    calls = [node.name for node in walk(root) if isinstance(node, Call)]
    return Expression(
        source=source,
        uses_status_function=any(name in STATUS_FUNCTIONS for name in calls),
        step_refs=frozenset((r.key[0], ".".join(r.key[1:])) for r in refs if r.root == "steps"),
        var_refs=frozenset(r.key[0] for r in refs if r.root == "vars"),
        env_refs=frozenset(r.key[0] for r in refs if r.root == "env"),
        root=root,
    )


class _Converter:
    """Copies allow-listed Python AST nodes into our tree, with columns in the user's own text."""

    def __init__(self, text: str, origin: list[int], source_length: int) -> None:
        self.text = text
        self.origin = origin
        self.source_length = source_length

    def column_of_char(self, index: int) -> int:
        index = max(0, index)
        return self.origin[index] + 1 if index < len(self.origin) else self.source_length + 1

    def column(self, node: ast.expr, *, byte_offset: int | None = None) -> int:
        # col_offset counts UTF-8 bytes; the rewritten text is one line (prepare removes newlines).
        offset = node.col_offset if byte_offset is None else byte_offset
        prefix = self.text.encode("utf-8", "surrogatepass")[:offset]
        return self.column_of_char(len(prefix.decode("utf-8", "ignore")))

    def convert(self, node: ast.expr, depth: int) -> Node:
        column = self.column(node)
        if depth > MAX_DEPTH:
            raise ExpressionError(
                f"the condition is nested more than {MAX_DEPTH} levels deep", column
            )
        if isinstance(node, ast.BoolOp):
            op = "and" if isinstance(node.op, ast.And) else "or"
            return BoolOp(op, tuple(self.convert(v, depth + 1) for v in node.values), column)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return Not(self.convert(node.operand, depth + 1), column)
            number = node.operand.value if isinstance(node.operand, ast.Constant) else None
            if isinstance(node.op, ast.USub) and type(number) in (int, float):
                return self.literal(-number, column)  # type: ignore[operator]  # int or float
            raise ExpressionError("'-' is only allowed directly before a number", column)
        if isinstance(node, ast.Compare):
            return self.compare(node, column, depth)
        if isinstance(node, ast.Constant):
            return self.literal(node.value, column)
        if isinstance(node, ast.Name):
            return self.name(node.id, column)
        if isinstance(node, ast.Attribute | ast.Subscript):
            return self.reference(node, column)
        if isinstance(node, ast.Call):
            return self.call(node, column, depth)
        if isinstance(node, ast.List | ast.Tuple):
            return List(tuple(self.convert(item, depth + 1) for item in node.elts), column)
        kind = type(node).__name__
        raise ExpressionError(
            _REJECTED.get(type(node), f"{kind} is not allowed in a condition"), column
        )

    def compare(self, node: ast.Compare, column: int, depth: int) -> Compare:
        if len(node.ops) != 1:
            message = (
                "chained comparisons such as a < b < c are not supported; join them with 'and'"
            )
            raise ExpressionError(message, column)
        op = _COMPARE_OPS.get(type(node.ops[0]))
        if op is None:
            raise ExpressionError("'is' is not supported; use == or !=", column)
        left = self.convert(node.left, depth + 1)
        return Compare(op, left, self.convert(node.comparators[0], depth + 1), column)

    def literal(self, value: object, column: int) -> Literal:
        if isinstance(value, str) and len(value) > MAX_STRING_CHARS:
            message = f"a string literal is longer than {MAX_STRING_CHARS} characters"
            raise ExpressionError(message, column)
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
            raise ExpressionError("the number is too large", column)
        if value is None or isinstance(value, str | int | float):
            return Literal(value, column)
        raise ExpressionError("only strings, numbers, true, false and null are literals", column)

    def name(self, name: str, column: int) -> Literal:
        if name in _LITERAL_NAMES:
            return Literal(_LITERAL_NAMES[name], column)
        if name in _ROOT_EXAMPLES:
            raise ExpressionError(f"'{name}' needs a field: {_ROOT_EXAMPLES[name]}", column)
        if name in FUNCTIONS:
            call = f"{name}()" if name in STATUS_FUNCTIONS else f"{name}(a, b)"
            raise ExpressionError(f"'{name}' is a function; call it as {call}", column)
        raise ExpressionError(f"unknown name {quote(name)}; {_NAMES_HELP}", column)

    def reference(self, node: ast.Attribute | ast.Subscript, column: int) -> Ref:
        keys: list[str] = []
        current: ast.expr = node
        while isinstance(current, ast.Attribute | ast.Subscript):
            if isinstance(current, ast.Attribute):
                if current.attr.startswith("__"):
                    message = f"{quote(current.attr)}: names that start with '__' are not allowed"
                    end = current.end_col_offset or 0
                    raise ExpressionError(
                        message, self.column(current, byte_offset=end - len(current.attr))
                    )
                keys.append(current.attr)
            else:
                key = current.slice
                if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                    message = "an index must be a quoted string, as in steps['my-step']"
                    raise ExpressionError(message, self.column(key))
                keys.append(key.value)
            current = current.value
        keys.reverse()
        if not (isinstance(current, ast.Name) and current.id in _ROOT_EXAMPLES):
            message = "fields and indexes can only follow steps, vars, env or run"
            raise ExpressionError(message, self.column(current))
        root = current.id
        if not all(0 < len(key) <= MAX_NAME_CHARS for key in keys) or not _has_shape(root, keys):
            raise ExpressionError(f"write {_ROOT_EXAMPLES[root]}", column)
        return Ref(root, tuple(keys), column)

    def call(self, node: ast.Call, column: int, depth: int) -> Call:
        if not isinstance(node.func, ast.Name):
            raise ExpressionError(f"only these functions can be called: {_FUNCTIONS_HELP}", column)
        name = node.func.id
        if name not in FUNCTIONS:
            close = [
                f for f in FUNCTIONS if f.lower() == name.lower().replace("canceled", "cancelled")
            ]
            hint = (
                f"; did you mean {close[0]}()?"
                if close
                else f"; the functions are {_FUNCTIONS_HELP}"
            )
            raise ExpressionError(f"unknown function {quote(name)}{hint}", column)
        if node.keywords:
            raise ExpressionError(f"{name}() takes no keyword arguments", column)
        if any(isinstance(arg, ast.Starred) for arg in node.args):
            raise ExpressionError("'*' unpacking is not allowed", column)
        arity = 2 if name in VALUE_FUNCTIONS else 0
        if len(node.args) != arity:
            raise ExpressionError(f"{name}() takes {arity or 'no'} arguments", column)
        return Call(name, tuple(self.convert(arg, depth + 1) for arg in node.args), column)


def _has_shape(root: str, keys: list[str]) -> bool:
    if root == "steps":
        return (len(keys) == 2 and keys[1] in ("status", "exit_code")) or (
            len(keys) == 3 and keys[1] == "outputs"
        )
    if root == "run":
        return len(keys) == 1 and keys[0] in ("id", "status")
    return len(keys) == 1


_FUNCTIONS_HELP = ", ".join(f"{f}()" for f in sorted(FUNCTIONS, key=str.lower))
_NAMES_HELP = (
    "use steps, vars, env, run, a function, a quoted string, a number, true, false or null"
)
