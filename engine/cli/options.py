"""Options shared by several subcommands."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from engine.errors import UserError

F = TypeVar("F", bound=Callable[..., Any])


def parse_vars(pairs: Sequence[str]) -> dict[str, str]:
    """`--var K=V` pairs as a dict; the last one wins, as in make."""
    result: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.isidentifier():
            raise UserError(f"--var {pair!r}: expected NAME=VALUE")
        result[name] = value
    return result


def var_option(func: F) -> F:
    return click.option(
        "--var",
        "var_pairs",
        multiple=True,
        metavar="NAME=VALUE",
        help="Set a plan variable (repeatable).",
    )(func)


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(func)


def ledger_option(func: F) -> F:
    return click.option(
        "--ledger",
        metavar="PATH",
        envvar=None,
        help="The ledger database (default: $LEDGER_DB, else the nearest .ledger/ upward).",
    )(func)
