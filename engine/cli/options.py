"""Options shared by several subcommands."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click

from engine.errors import UserError

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

COMPLETION_RUNS = 50

F = TypeVar("F", bound=Callable[..., Any])


def parse_vars(pairs: Sequence[str]) -> dict[str, str]:
    """`--var K=V` pairs as a dict; the last one wins, as in make."""
    result: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.isidentifier():
            raise UserError(f"--var {pair!r}: expected NAME=VALUE")
        if not value.isascii() and not _is_text(value):
            # Bytes that are not UTF-8 reach Python as lone surrogates; the ledger stores UTF-8.
            raise UserError(f"--var {name}: the value is not UTF-8 text")
        result[name] = value
    return result


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


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


def run_id_argument(func: F) -> F:
    """The RUN_ID argument (any unique prefix), which the shell completes from the ledger."""
    return click.argument("run_id", shell_complete=complete_run_id)(func)


def complete_run_id(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Recent run ids starting with `incomplete`; nothing at all if the ledger cannot be read.

    Completion runs on every TAB, so it only reads (no crash recovery) and never says a word.
    """
    from click.shell_completion import CompletionItem

    from engine.ledger.location import resolve_ledger_path
    from engine.ledger.reader import LedgerReader

    try:
        path = resolve_ledger_path(ctx.params.get("ledger"), create=False)
        with LedgerReader.open(path) as reader:
            runs = reader.list_runs(limit=COMPLETION_RUNS)
    except Exception:  # a shell completion must never print a traceback into the prompt
        return []
    prefix = incomplete.strip().lower()
    return [
        CompletionItem(run.id, help=f"{run.plan_name} {run.status}")
        for run in runs
        if run.id.lower().startswith(prefix)
    ]


def ledger_option(func: F) -> F:
    return click.option(
        "--ledger",
        metavar="PATH",
        envvar=None,
        help="The ledger database (default: $LEDGER_DB, else the nearest .ledger/ upward).",
    )(func)
