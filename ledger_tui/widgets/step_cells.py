"""The cells of the run detail's step rows: a step's, and a matrix step's heading."""

from __future__ import annotations

from collections.abc import Mapping

from engine.ledger.records import Attempt, RunLinks, StepState
from engine.plan.matrix import matrix_base
from engine.states import StepStatus
from engine.step_groups import StepGroup
from ledger_tui import format as fmt
from ledger_tui.queries import RunPayload
from ledger_tui.step_rows import step_rows
from ledger_tui.sub_plans import child_of, child_text
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


class StepList:
    """The steps table's rows for a run: matrix steps open or closed, the child run a plan step
    started in place of its reason, finished steps' cells built once."""

    def __init__(self) -> None:
        self.expanded: set[str] = set()  # matrix steps whose expansions are listed
        self._cache: dict[str, tuple[StepState, Attempt | None, Cells]] = {}

    def expand_group_of(self, step_id: str) -> None:
        base = matrix_base(step_id)
        if base is not None:
            self.expanded.add(base)

    def toggle(self, base: str) -> None:
        self.expanded ^= {base}

    def forget(self) -> None:
        """Drop the cells built (their colours follow the theme)."""
        self._cache.clear()

    def rows(
        self,
        payload: RunPayload,
        links: RunLinks | None,
        now: float,
        variables: Mapping[str, str],
    ) -> list[tuple[str, Cells]]:
        built = []
        for row in step_rows(payload.steps, self.expanded):
            if row.group is not None:
                built.append((row.key, group_cells(row.group, row.expanded, variables)))
                continue
            assert row.step is not None
            cells = self._cells(row.step, payload.last_attempt(row.key), now, variables)
            child = child_of(links, row.key)
            if child is not None:  # a plan step: its child run, in place of a reason
                cells = (*cells[:-1], plain(child_text(child)))
            built.append((row.key, cells))
        return built

    def _cells(
        self, step: StepState, last: Attempt | None, now: float, variables: Mapping[str, str]
    ) -> Cells:
        cached = self._cache.get(step.step_id)
        if cached is not None and cached[0] == step and cached[1] == last:
            return cached[2]  # a finished step's cells never change: skip rebuilding them
        member = matrix_base(step.step_id) is not None  # listed under its matrix step
        cells = step_cells(step, last, now, variables, member=member)
        if step.status.is_final:
            self._cache[step.step_id] = (step, last, cells)
        return cells
