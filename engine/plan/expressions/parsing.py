"""Text to tree: Python's parser for precedence, then an explicit allow-list copied into our nodes.

Only the fields of allowed node kinds are read from the Python AST, and every rejection happens
here, before anything could be evaluated.
"""

from __future__ import annotations

import ast

from engine.plan.expressions.functions import VALUE_FUNCTIONS as _VALUE_FUNCTIONS
from engine.plan.expressions.rewrite import prepare, quote
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
    walk,
)

MAX_SOURCE_CHARS = 4096
MAX_DEPTH = 50  # far below Python's recursion limit, which the tree walks rely on
MAX_STRING_CHARS = 1024
MAX_NAME_CHARS = 200
STATUS_FUNCTIONS = frozenset({"success", "failure", "always", "cancelled"})
VALUE_FUNCTIONS = frozenset(spelling for spelling, *_ in _VALUE_FUNCTIONS.values())
FUNCTIONS = STATUS_FUNCTIONS | VALUE_FUNCTIONS | {"hashFiles"}
# Function names ignore case, as in GitHub: lower case -> (spelling, least, most arguments).
_ARITY = {name: (name, 0, 0) for name in STATUS_FUNCTIONS} | {
    name: (spelling, least, most) for name, (spelling, least, most, _) in _VALUE_FUNCTIONS.items()
}
_ARITY["hashfiles"] = ("hashFiles", 1, 255)  # reads files, so evaluation.py calls it itself
# GitHub binds < <= > >= tighter than == and !=; `in` sits with the orderings.
_EQUALITY = frozenset({"==", "!="})

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
    text, origin, numbers = prepare(source)
    indent = len(text) - len(text.lstrip(" "))  # ast.parse, unlike eval(), rejects leading blanks
    text, origin = text[indent:], origin[indent:]
    converter = _Converter(text, origin, len(source), numbers)
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
    refs: list[Ref] = []
    status_function = False
    for node in walk(root):
        if isinstance(node, Ref):
            refs.append(node)
        elif isinstance(node, Call) and node.name in STATUS_FUNCTIONS:  # spelled as listed
            status_function = True
    return Expression(
        source=source,
        uses_status_function=status_function,
        step_refs=frozenset((r.key[0], ".".join(r.key[1:])) for r in refs if r.root == "steps"),
        var_refs=frozenset(r.key[0] for r in refs if r.root == "vars"),
        env_refs=frozenset(r.key[0] for r in refs if r.root == "env"),
        root=root,
    )


class _Converter:
    """Copies allow-listed Python AST nodes into our tree, with columns in the user's own text."""

    def __init__(
        self, text: str, origin: list[int], source_length: int, numbers: list[float]
    ) -> None:
        self.text = text
        self.origin = origin
        self.source_length = source_length
        self.numbers = numbers
        self.ascii = text.isascii()  # then a byte offset is a character index

    def column_of_char(self, index: int) -> int:
        index = max(0, index)
        return self.origin[index] + 1 if index < len(self.origin) else self.source_length + 1

    def column(self, node: ast.expr, *, byte_offset: int | None = None) -> int:
        # col_offset counts UTF-8 bytes; the rewritten text is one line (prepare removes newlines).
        offset = node.col_offset if byte_offset is None else byte_offset
        if self.ascii:
            return self.column_of_char(offset)
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
            if isinstance(node.op, ast.Not | ast.Invert):  # `~` is how prepare() spells `!`
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
            if node.id.startswith("__n"):
                return Literal(self.numbers[int(node.id[3:])], column)
            return self.name(node.id, column)
        if isinstance(node, ast.Attribute | ast.Subscript):
            return self.reference(node, column, depth)
        if isinstance(node, ast.Call):
            return self.call(node, column, depth)
        if isinstance(node, ast.List | ast.Tuple):
            return List(tuple(self.convert(item, depth + 1) for item in node.elts), column)
        kind = type(node).__name__
        raise ExpressionError(
            _REJECTED.get(type(node), f"{kind} is not allowed in a condition"), column
        )

    def compare(self, node: ast.Compare, column: int, depth: int) -> Node:
        """A chain such as `3 < 2 < 1` reads left to right, as in GitHub, not as Python's `and`."""
        if depth + len(node.ops) > MAX_DEPTH:
            raise ExpressionError(
                f"the condition is nested more than {MAX_DEPTH} levels deep", column
            )
        if len(node.ops) == 1:  # the common case, without the chain's bookkeeping
            op = _COMPARE_OPS.get(type(node.ops[0]))
            if op is None:
                raise ExpressionError("'is' is not supported; use == or !=", column)
            left = self.convert(node.left, depth + 1)
            return Compare(op, left, self.convert(node.comparators[0], depth + 1), column)
        terms: list[Node] = [self.convert(node.left, depth + 1)]
        equalities: list[str] = []
        for operator, operand in zip(node.ops, node.comparators, strict=True):
            op = _COMPARE_OPS.get(type(operator))
            if op is None:
                raise ExpressionError("'is' is not supported; use == or !=", column)
            right = self.convert(operand, depth + 1)
            if op in _EQUALITY:
                equalities.append(op)
                terms.append(right)
            else:
                terms[-1] = Compare(op, terms[-1], right, column)
        result = terms[0]
        for op, right in zip(equalities, terms[1:], strict=True):
            result = Compare(op, result, right, column)
        return result

    def literal(self, value: object, column: int) -> Literal:
        if isinstance(value, str) and len(value) > MAX_STRING_CHARS:
            message = f"a string literal is longer than {MAX_STRING_CHARS} characters"
            raise ExpressionError(message, column)
        if value is None or isinstance(value, str | bool):  # Python's True, False and None
            return Literal(value, column)
        raise ExpressionError("only strings, numbers, true, false and null are literals", column)

    def name(self, name: str, column: int) -> Literal:
        if name in _LITERAL_NAMES:
            return Literal(_LITERAL_NAMES[name], column)
        if name in _ROOT_EXAMPLES:
            raise ExpressionError(f"'{name}' needs a field: {_ROOT_EXAMPLES[name]}", column)
        if name.lower() in _ARITY:
            call = f"{_ARITY[name.lower()][0]}()" if name in STATUS_FUNCTIONS else f"{name}(...)"
            raise ExpressionError(f"'{name}' is a function; call it as {call}", column)
        raise ExpressionError(f"unknown name {quote(name)}; {_NAMES_HELP}", column)

    def reference(self, node: ast.Attribute | ast.Subscript, column: int, depth: int) -> Node:
        chain: list[ast.Attribute | ast.Subscript] = []
        current: ast.expr = node
        while isinstance(current, ast.Attribute | ast.Subscript):
            chain.append(current)
            current = current.value
        chain.reverse()
        if isinstance(current, ast.Call) and _called(current) == "fromjson":
            return self.fields(current, chain, depth)
        keys = [self.key(link) for link in chain]
        if not (isinstance(current, ast.Name) and current.id in _ROOT_EXAMPLES):
            message = "fields and indexes can only follow steps, vars, env or run (or fromJSON())"
            raise ExpressionError(message, self.column(current))
        root = current.id
        if not all(0 < len(key) <= MAX_NAME_CHARS for key in keys) or not _has_shape(root, keys):
            hint = ", or fromJSON(steps.ID.outputs.NAME).FIELD" if root == "steps" else ""
            raise ExpressionError(f"write {_ROOT_EXAMPLES[root]}{hint}", column)
        return Ref(root, tuple(keys), column)

    def key(self, link: ast.Attribute | ast.Subscript) -> str:
        """The name in `.name` or `['name']` after steps, vars, env or run."""
        if isinstance(link, ast.Attribute):
            if link.attr.startswith("__"):
                message = f"{quote(link.attr)}: names that start with '__' are not allowed"
                end = link.end_col_offset or 0
                raise ExpressionError(message, self.column(link, byte_offset=end - len(link.attr)))
            return link.attr
        key = link.slice
        if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
            message = "an index must be a quoted string, as in steps['my-step']"
            raise ExpressionError(message, self.column(key))
        return key.value

    def fields(
        self, base: ast.Call, chain: list[ast.Attribute | ast.Subscript], depth: int
    ) -> Node:
        """`fromJSON(...).a['b'][0]`: fields and indexes of parsed JSON, read as plain data."""
        if depth + len(chain) > MAX_DEPTH:
            message = f"the condition is nested more than {MAX_DEPTH} levels deep"
            raise ExpressionError(message, self.column(base))
        result: Node = self.call(base, self.column(base), depth + len(chain))
        for link in chain:
            key: Node
            if isinstance(link, ast.Attribute):
                key = Literal(self.key(link), self.column(link))
            else:
                key = self.convert(link.slice, depth + 1)
            result = Index(result, key, self.column(link))
        return result

    def call(self, node: ast.Call, column: int, depth: int) -> Call:
        name = _called(node)
        if name is None:
            raise ExpressionError(f"only these functions can be called: {_FUNCTIONS_HELP}", column)
        if name not in _ARITY:
            close = [f for f in FUNCTIONS if f.lower() == name.replace("canceled", "cancelled")]
            hint = (
                f"; did you mean {close[0]}()?"
                if close
                else f"; the functions are {_FUNCTIONS_HELP}"
            )
            written = node.func.id  # type: ignore[attr-defined]  # _called() checked it is a Name
            raise ExpressionError(f"unknown function {quote(written)}{hint}", column)
        spelling, least, most = _ARITY[name]
        if node.keywords:
            raise ExpressionError(f"{spelling}() takes no keyword arguments", column)
        if any(isinstance(arg, ast.Starred) for arg in node.args):
            raise ExpressionError("'*' unpacking is not allowed", column)
        count = len(node.args)
        if not least <= count <= most or (spelling == "case" and count % 2 == 0):
            raise ExpressionError(f"{spelling}() takes {_arity_text(least, most)}", column)
        args = tuple(self.convert(arg, depth + 1) for arg in node.args)
        return Call(spelling, args, column)


def _called(node: ast.Call) -> str | None:
    """The lower-cased name of the function called, or None when it is not a plain name."""
    return node.func.id.lower() if isinstance(node.func, ast.Name) else None


def _arity_text(least: int, most: int) -> str:
    if least == most:
        return f"{least or 'no'} argument{'' if least == 1 else 's'}"
    if most == 2:
        return f"{least} or {most} arguments"
    if least == 3:
        return "an odd number of arguments, at least 3"
    return f"at least {least} argument{'' if least == 1 else 's'}"


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
