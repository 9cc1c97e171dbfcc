"""Which steps of a Dask run go to the cluster, with which resources, and which stay on this host.

`executor: "local"` pins a step to the engine's host (docs/plans.md, "Cluster placement"):
`Routed` sends it to the local executor and every other step to the cluster.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from engine.executors.base import AttemptHandle, Executor, LaunchSpec
from engine.plan.spec import Plan


@dataclass(frozen=True)
class Placement:
    """The plan's steps (hooks and matrix expansions included) as the Dask executor sees them."""

    local: frozenset[str] = frozenset()  # step ids pinned with executor: "local"
    resources: Mapping[str, Mapping[str, float]] = field(default_factory=dict)  # step id -> them
    secret_steps: tuple[str, ...] = ()  # remote steps that get a secret: they need the key

    @classmethod
    def of(cls, plan: Plan, set_secrets: Collection[str] = ()) -> Placement:
        """`set_secrets`: the names of the secrets that have a value for this run (an optional
        one left unset is never sent, so it needs no sealing)."""
        steps = plan.all_steps()
        local = frozenset(step.id for step in steps if step.executor == "local")
        sent = frozenset(set_secrets)
        return cls(
            local=local,
            resources={s.id: dict(s.resources) for s in steps if s.resources and s.id not in local},
            secret_steps=tuple(
                s.id for s in steps if s.id not in local and any(n in sent for n in s.secrets)
            ),
        )


class Routed:
    """An executor that runs pinned steps with `local` and the rest with `remote`."""

    def __init__(self, remote: Executor, local: Executor, pinned: frozenset[str]) -> None:
        self.remote = remote
        self.local = local
        self._pinned = pinned

    async def launch(self, spec: LaunchSpec) -> AttemptHandle:
        chosen = self.local if spec.step_id in self._pinned else self.remote
        return await chosen.launch(spec)

    def close(self) -> None:
        """Closes both: the local one stops pinned steps' leftovers as in a local run."""
        self.local.close()
        self.remote.close()
