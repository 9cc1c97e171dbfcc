"""A run's steps grouped under the matrix step they expand from (`test` for `test[os=linux]`),
with the status a group shows and how its expansions ended: one rule for `engine show` and the
dashboard."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from engine.ledger.records import StepState
from engine.plan.matrix import matrix_base
from engine.states import StepStatus

# The status a matrix step shows: the first of these that one of its expansions has.
GROUP_STATUS = (
    StepStatus.FAILED, StepStatus.ABANDONED, StepStatus.CANCELED, StepStatus.RUNNING,
    StepStatus.RETRYING, StepStatus.READY, StepStatus.PENDING, StepStatus.SUCCEEDED,
    StepStatus.REUSED, StepStatus.SKIPPED,
)  # fmt: skip


def group_status(statuses: Iterable[str]) -> str:
    """The status a matrix step shows for its expansions' statuses: the worst, as words."""
    present = set(statuses)
    return next((str(s) for s in GROUP_STATUS if str(s) in present), "pending")


@dataclass(frozen=True)
class StepGroup:
    """A matrix step's expansions (`base` set), or one plain step (`base` None)."""

    base: str | None
    members: tuple[StepState, ...]

    @property
    def status(self) -> StepStatus:
        return StepStatus(group_status(str(step.status) for step in self.members))

    def counts(self) -> list[tuple[str, int]]:
        """How many expansions are in each status, the most common first."""
        return Counter(str(step.status) for step in self.members).most_common()

    def progress(self) -> str:
        """`6/8 succeeded, 1 failed, 1 running`: the succeeded share, then the rest by count."""
        counts = self.counts()
        done = sum(n for status, n in counts if status == StepStatus.SUCCEEDED)
        rest = [f"{n} {status}" for status, n in counts if status != StepStatus.SUCCEEDED]
        return ", ".join([f"{done}/{len(self.members)} succeeded", *rest])


def group_steps(steps: Iterable[StepState]) -> list[StepGroup]:
    """The steps in their order, consecutive expansions of one matrix step as one group."""
    groups: list[StepGroup] = []
    for base, members in itertools.groupby(steps, key=lambda step: matrix_base(step.step_id)):
        if base is None:
            groups.extend(StepGroup(None, (step,)) for step in members)
        else:
            groups.append(StepGroup(base, tuple(members)))
    return groups
