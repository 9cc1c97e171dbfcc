"""The parsed form of a condition: this package's own small tree, never Python's AST or objects."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TypeAlias

# Lists written in a condition are tuples; fromJSON() also gives lists and dicts.
Value: TypeAlias = (
    "str | int | float | bool | tuple[Value, ...] | list[Value] | dict[str, Value] | None"
)


class ExpressionError(Exception):
    """A condition that cannot be parsed, fails a static check, or cannot be evaluated."""

    def __init__(self, message: str, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.column = column  # 1-based, in the source as the user wrote it

    def __str__(self) -> str:
        return self.message if self.column is None else f"{self.message} (column {self.column})"


@dataclass(frozen=True)
class Literal:
    value: Value
    column: int


@dataclass(frozen=True)
class Ref:
    root: str  # steps, vars, env or run
    key: tuple[str, ...]  # ("build", "outputs", "sha"), ("BRANCH",), ("id",)
    column: int

    @property
    def text(self) -> str:
        """The reference as a user would write it, for messages."""
        if self.root != "steps":
            return f"{self.root}.{self.key[0]}"
        return f"steps[{self.key[0]!r}]." + ".".join(self.key[1:])


@dataclass(frozen=True)
class List:
    items: tuple[Node, ...]
    column: int


@dataclass(frozen=True)
class Not:
    operand: Node
    column: int


@dataclass(frozen=True)
class BoolOp:
    op: str  # and, or
    operands: tuple[Node, ...]
    column: int


@dataclass(frozen=True)
class Compare:
    op: str  # == != < <= > >= in, not in
    left: Node
    right: Node
    column: int


@dataclass(frozen=True)
class Index:
    """A field or index of a computed value, as in `fromJSON(steps.meta.outputs.info).sha`."""

    base: Node
    key: Node
    column: int


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]
    column: int


Node: TypeAlias = "Literal | Ref | List | Not | BoolOp | Compare | Call | Index"


def walk(node: Node) -> Iterator[Node]:
    """Every node of the tree, parents first, left to right (a stack: nested generators cost)."""
    stack = [node]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, Compare):
            stack.append(node.right)
            stack.append(node.left)
        elif isinstance(node, Literal | Ref):
            continue
        elif isinstance(node, BoolOp):
            stack.extend(reversed(node.operands))
        elif isinstance(node, Not):
            stack.append(node.operand)
        elif isinstance(node, List):
            stack.extend(reversed(node.items))
        elif isinstance(node, Call):
            stack.extend(reversed(node.args))
        else:
            stack.append(node.key)
            stack.append(node.base)


@dataclass(frozen=True)
class Expression:
    """A parsed condition; parse_expression builds it and guarantees `root` is allow-listed."""

    source: str
    # When False, a `condition` also requires success() (docs/conditions.md, "The implicit").
    uses_status_function: bool
    step_refs: frozenset[tuple[str, str]]  # (step id, "status" | "exit_code" | "outputs.NAME")
    var_refs: frozenset[str]
    env_refs: frozenset[str]
    root: Node = field(repr=False, compare=False)
