"""The cells of the run detail's step rows: a step's, and a matrix step's heading."""

from __future__ import annotations

from collections.abc import Mapping

from engine.ledger.records import Attempt, StepState
from engine.states import StepStatus
from engine.step_groups import StepGroup
from ledger_tui import format as fmt
from ledger_tui.widgets.cells import plain, status_cell
from ledger_tui.widgets.live_table import Cells

MEMBER_INDENT = "  "  # a matrix expansion, under its step's heading


def step_cells(
    step: StepState,
    last: Attempt | None,
    now: float,
    variables: Mapping[str, str],
    *,
    member: bool = False,
) -> Cells:
    """A step's row: status, attempts, duration, exit, the last attempt's resources, reason."""
    exit_code = "-"
    if last is not None and last.finished_at is not None:
        exit_code = str(last.exit_code) if last.exit_code is not None else "-"
        if last.error_code and last.exit_code in (None, 0):
            exit_code = last.error_code
    duration = step.duration_ms
    if duration is None and step.started_at is not None and not step.status.is_final:
        duration = int((now - step.started_at) * 1000)
    name = (MEMBER_INDENT if member else "") + step.step_id + (" (hook)" if step.is_hook else "")
    return (
        plain(name),
        status_cell(str(step.status), variables),
        plain(step.attempts or "-"),
        plain(fmt.duration(duration)),
        plain(exit_code),
        plain(fmt.duration(last.cpu_ms if last else None)),  # the last attempt's resources
        plain(fmt.memory(last.max_rss_kb if last else None)),
        # While a step runs again, the reason its last attempt failed is no longer current.
        plain("" if step.status is StepStatus.RUNNING else step.reason or ""),
    )


def group_cells(group: StepGroup, expanded: bool, variables: Mapping[str, str]) -> Cells:
    """A matrix step's heading: `▾ test (8)`, its worst status, and how its expansions stand."""
    marker = "▾" if expanded else "▸"
    return (
        plain(f"{marker} {group.base} ({len(group.members)})"),
        status_cell(str(group.status), variables),
        plain(""),
        plain(""),
        plain(""),
        plain(""),
        plain(""),
        plain(group.progress()),
    )
