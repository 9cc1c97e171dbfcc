"""Table cells coloured from the active theme's variables ($success, $error...), never literals."""

from __future__ import annotations

from collections.abc import Mapping

from rich.style import Style
from rich.text import Text
from textual.color import Color, ColorParseError

from engine.ledger.records import Event
from engine.palette import STATUS_ROLE
from ledger_tui import format as fmt

# Which theme variable colours each status (engine.palette); anything else is the plain foreground.
STATUS_VARIABLE = {status: str(role) for status, role in STATUS_ROLE.items()}

STATUS_ICON = {
    "succeeded": "✔",
    "failed": "✘",
    "crashed": "☠",
    "abandoned": "☠",
    "partial": "◐",
    "canceled": "⊘",
    "retrying": "↻",
    "running": "▶",
    "ready": "…",
    "waiting": "⧗",  # a run queued for its concurrency group
    "pending": "·",
    "skipped": "↷",
    "reused": "≡",
}


def theme_style(variables: Mapping[str, str], name: str, *, bold: bool = False) -> Style:
    """Return a Rich style with the colour of theme variable `name` (plain if unknown)."""
    value = variables.get(name)
    if value is None:
        return Style(bold=bold)
    try:
        color = Color.parse(value)
    except ColorParseError:
        return Style(bold=bold)
    return Style(color=color.rich_color, bold=bold)


def status_cell(status: str, variables: Mapping[str, str]) -> Text:
    """An icon and the status word, in the status's theme colour."""
    variable = STATUS_VARIABLE.get(status, "foreground")
    icon = STATUS_ICON.get(status, "?")
    return Text(f"{icon} {status}", style=theme_style(variables, variable))


def gone_cell(variables: Mapping[str, str]) -> Text:
    """An active run whose engine is gone: the dashboard only reads, so it is not marked crashed
    yet (the next engine command does), but it is no longer running."""
    return Text(
        f"{STATUS_ICON['crashed']} gone", style=theme_style(variables, STATUS_VARIABLE["crashed"])
    )


def event_type_cell(event_type: str, variables: Mapping[str, str]) -> Text:
    """An event type coloured by the outcome it reports."""
    for suffix, status in (
        ("succeeded", "succeeded"),
        ("failed", "failed"),
        ("timeout", "failed"),
        ("crashed", "crashed"),
        ("canceled", "canceled"),
        ("cancel_requested", "canceled"),
        ("retry", "retrying"),
        ("started", "running"),
        ("skipped", "skipped"),
        ("completed", "succeeded"),
    ):
        if event_type.endswith(suffix):
            return Text(event_type, style=theme_style(variables, STATUS_VARIABLE[status]))
    return Text(event_type)


def plain(value: object) -> Text:
    """User text (plan names, ids) as a cell that is never parsed as markup."""
    return Text("-" if value is None else str(value))


HIDDEN_EVENT_KEYS = {"log_path", "plan_hash", "owner_host"}  # long, and shown elsewhere


def event_summary(data: dict[str, object] | None) -> str:
    """An event's data as short `key=value` pairs."""
    if not data:
        return ""
    return " ".join(
        f"{key}={value}"
        for key, value in data.items()
        if value is not None and key not in HIDDEN_EVENT_KEYS
    )


def event_cells(event: Event, *, with_run: bool, variables: Mapping[str, str]) -> tuple[Text, ...]:
    cells: tuple[Text, ...] = (plain(fmt.short_time(event.ts)),)
    if with_run:
        cells += (plain(event.run_id),)
    return (
        *cells,
        plain(event.step_id or "-"),
        event_type_cell(event.type, variables),
        plain(event_summary(event.data)[:200]),
    )
