"""The expansions of each matrix step within a run: their `max_parallel` limit and `fail_fast`.

Only a plan with a matrix builds one; the scheduler asks it before a ready expansion queues for a
run-wide slot, and tells it when an expansion is final.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from engine.plan.spec import Step
from engine.run.slots import Slots


class MatrixGroups:
    def __init__(self, steps: Iterable[Step]) -> None:
        self.members: dict[str, list[str]] = {}  # matrix step as written -> its expansions' ids
        self._limits: dict[str, Slots] = {}
        self._holding: set[str] = set()  # expansions holding one of their matrix's slots
        for step in steps:
            matrix = step.matrix
            if matrix is None:
                continue
            self.members.setdefault(matrix.step, []).append(step.id)
            if matrix.max_parallel is not None and matrix.step not in self._limits:
                self._limits[matrix.step] = Slots(matrix.max_parallel)

    def request(self, step: Step, start: Callable[[], None]) -> None:
        """Call `start` once the step's matrix has room for it (at once when it has no limit)."""
        limit = self._limits.get(step.matrix.step) if step.matrix is not None else None
        if limit is None:
            start()
            return

        def granted() -> None:
            self._holding.add(step.id)
            start()

        limit.request(granted)

    def finished(self, step: Step, failed: bool) -> list[str]:
        """Free the step's matrix slot; the siblings to cancel when it failed under fail_fast."""
        matrix = step.matrix
        if matrix is None:
            return []
        if step.id in self._holding:
            self._holding.discard(step.id)
            self._limits[matrix.step].release()
        if failed and matrix.fail_fast:
            return [sid for sid in self.members[matrix.step] if sid != step.id]
        return []
