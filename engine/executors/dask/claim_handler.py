"""The at-most-once claim's handler, installed on the scheduler: one round trip before a worker
starts a step.

Dask runs a task again when its worker died or left, even with `allowed-failures: 0`; the step may
have run already, so the run that comes second must not start it. Before it spawns anything, a
worker asks the scheduler's handler to claim the task's key (remote.py): test and set in one call,
atomic since the scheduler handles one message at a time. The claims live in the scheduler's
metadata, run id -> task key -> who claimed it, beside the run's stamp (claims.py); the engine
also claims a key it cancels before it started.

The scheduler imports it by name, as it imports `run_attempt` to read each task it is sent: the
scheduler needs plan-engine installed, at the engine's version, as the workers do.
"""

from __future__ import annotations

from typing import Any

from distributed.diagnostics.plugin import SchedulerPlugin

HANDLER = "plan_engine_claim_2"  # versioned: an older engine's plugin may be there already


class ClaimHandler(SchedulerPlugin):
    """Installs the claim handler on the scheduler; `metadata` is where claims are kept."""

    name = "plan-engine-claim-handler-2"
    idempotent = True  # every engine registers it; one is enough

    def __init__(self, metadata: str) -> None:
        self.metadata = metadata

    async def start(self, scheduler: Any) -> None:
        where = self.metadata

        def claim(run_id: str, key: str, by: str) -> bool | str:
            """True when `by` is the first to claim `key` (a worker's address; "": the engine),
            else who claimed it first."""
            runs = scheduler.task_metadata.get(where)
            claims = runs.get(run_id) if isinstance(runs, dict) else None
            first = claims.get(key) if isinstance(claims, dict) else None
            if first is not None:
                return str(first)
            # Makes the missing levels, and replaces a forgotten run's None.
            scheduler.set_metadata(keys=[where, run_id, key], value=by)
            return True

        scheduler.handlers[HANDLER] = claim
