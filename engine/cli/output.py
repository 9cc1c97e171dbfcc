"""Shared by query commands: the reconciled ledger, tables and JSON on stdout, notes on stderr."""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import click
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from engine.errors import LedgerError, UserError
from engine.ledger.ids import RUN_ID_LENGTH
from engine.ledger.json_shapes import jsonable as jsonable
from engine.ledger.location import resolve_ledger_path
from engine.ledger.reader import LedgerReader
from engine.ledger.recovery import reconcile
from engine.palette import terminal_style

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
ID_COLUMNS = frozenset({"RUN"})


def open_ledger(explicit: str | None) -> LedgerReader:
    """Open the ledger read-only after marking runs whose engine is gone as crashed."""
    reader = LedgerReader.open(resolve_ledger_path(explicit, create=False))
    try:
        recover(reader)
    except BaseException:
        reader.close()
        raise
    return reader


def recover(reader: LedgerReader) -> None:
    """Reconcile crashed runs, saying so on stderr; a ledger we may not write is only read."""
    try:
        crashed = reconcile(reader)
    except LedgerError as error:
        note(f"could not mark crashed runs: {error.message}")
        return
    for run_id in crashed:
        note(f"run {run_id} was marked crashed: the engine running it is gone")


def note(message: str) -> None:
    """Write a message for the person (not the data) to stderr."""
    click.echo(f"engine: {message}", err=True)


def parse_duration(text: str) -> float:
    """Seconds in `30d`, `24h`, `1h30m` or `90s`; a bare number is refused, its unit unknowable."""
    value = text.strip().lower()
    if _NUMBER.fullmatch(value):
        units = ", ".join(f"{value}{unit}" for unit in "smh")
        raise UserError(f"{text!r} has no unit; write e.g. {units} or {value}d.")
    parts = _DURATION.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise UserError(f"{text!r} is not a duration; use e.g. 90s, 15m, 24h, 30d or 2w.")
    return sum(float(number) * _UNITS[unit] for number, unit in parts)


def parse_since(text: str, now: float | None = None) -> float:
    """A point in time from a duration ago (`24h`) or an ISO date/time (`2026-11-20`, UTC)."""
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return (time.time() if now is None else now) - parse_duration(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def print_json(value: Any) -> None:
    """Print records (dataclasses, lists, dicts) as indented JSON; times become ISO-8601 UTC."""
    click.echo(json.dumps(jsonable(value), indent=2, ensure_ascii=False))


class _Console(Console):
    def on_broken_pipe(self) -> None:
        # rich exits 1 here; the command's reader is gone, which app.main ends with 0, as for echo.
        raise BrokenPipeError


def console() -> Console:
    """A console on stdout; off a terminal it is wide, so piped tables are not wrapped at 80."""
    probe = Console(file=sys.stdout)
    width = None if probe.is_terminal else 200
    return _Console(file=sys.stdout, width=width, markup=False, emoji=False, highlight=False)


def print_table(
    columns: Sequence[str], rows: Iterable[Sequence[str | Text]], title: str | None = None
) -> None:
    """Print rows as a plain table with a header; run ids never wrap, other columns give way."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title=title)
    for column in columns:
        if column in ID_COLUMNS:  # an id is copied whole: it must stay on one line
            table.add_column(column, no_wrap=True, min_width=RUN_ID_LENGTH)
        else:
            table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    console().print(table)


def status_text(status: str) -> Text:
    """A status word, coloured on a terminal (NO_COLOR is honoured by rich)."""
    return Text(status, style=terminal_style(status))


def percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.0f}%"
