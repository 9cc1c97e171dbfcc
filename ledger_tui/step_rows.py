"""The run detail's step list: plain steps, and each matrix step as one row that expands to its
expansions (no Textual)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from engine.ledger.records import StepState
from engine.states import StepStatus
from engine.step_groups import StepGroup, group_steps

# Step ids never hold ':' (the plan schema's id pattern), so a group row's key is no step's id.
GROUP_PREFIX = "matrix:"


def group_key(base: str) -> str:
    return GROUP_PREFIX + base


def group_of_key(key: str | None) -> str | None:
    """The matrix step a group row's key stands for; None for a step's row."""
    if key is None or not key.startswith(GROUP_PREFIX):
        return None
    return key[len(GROUP_PREFIX) :]


@dataclass(frozen=True)
class StepRow:
    """One row: a step (`step`), or a matrix step's heading (`group`)."""

    key: str
    step: StepState | None = None
    group: StepGroup | None = None
    expanded: bool = False  # a heading whose expansions are listed under it
    member: bool = False  # a step listed under its matrix step's heading


def step_rows(steps: Iterable[StepState], expanded: Collection[str]) -> list[StepRow]:
    """The rows for `steps`: a matrix step's expansions only while it is in `expanded`."""
    rows: list[StepRow] = []
    for group in group_steps(steps):
        if group.base is None:
            rows.append(StepRow(group.members[0].step_id, step=group.members[0]))
            continue
        opened = group.base in expanded
        rows.append(StepRow(group_key(group.base), group=group, expanded=opened))
        if opened:
            rows.extend(StepRow(s.step_id, step=s, member=True) for s in group.members)
    return rows


def default_step(steps: tuple[StepState, ...]) -> str | None:
    """The step the cursor starts on: the first running one (in plan order), else the first
    failed one, else the first; never which one happened to start last."""
    for wanted in ((StepStatus.RUNNING, StepStatus.RETRYING), (StepStatus.FAILED,)):
        for step in steps:
            if step.status in wanted:
                return step.step_id
    return steps[0].step_id if steps else None
