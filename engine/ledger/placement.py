"""Recording where a cluster ran an attempt: its host and worker, and when it started there."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.ledger import statements as sql
from engine.ledger.times import to_iso
from engine.states import EventType

if TYPE_CHECKING:
    from engine.ledger.group_commit import Op


class PlacementWrites:
    """The writer's part for attempts run by a cluster (docs/ledger.md, "step_attempts")."""

    if TYPE_CHECKING:  # LedgerWriter's own

        def _record(self, *ops: Op) -> None: ...

        def _event_op(
            self,
            run_id: str,
            type: EventType,
            ts: str,
            step_id: str | None = None,
            attempt: int | None = None,
            data: dict[str, Any] | None = None,
        ) -> Op: ...

    def attempt_placed(
        self,
        *,
        run_id: str,
        step_id: str,
        attempt: int,
        at: float,
        where: dict[str, Any],
    ) -> None:
        """Record where (`host`, `worker`, `pid`) and when a cluster started an attempt that was
        launched earlier, with its step_placed event; `started_at` stays its submission."""
        ts = to_iso(at)
        params = (ts, where["host"], where["worker"], where["pid"], run_id, step_id, attempt)
        self._record(
            (sql.ATTEMPT_PLACED, params),
            self._event_op(run_id, EventType.STEP_PLACED, ts, step_id, attempt, where),
        )
