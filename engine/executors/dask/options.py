"""Which executor a run uses: `--executor` > $ENGINE_EXECUTOR > `globals.executor` > local."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.errors import UserError

if TYPE_CHECKING:
    from engine.executors.base import Executor
    from engine.run.session import RunRequest

EXECUTOR_ENV = "ENGINE_EXECUTOR"
ADDRESS_ENV = "ENGINE_DASK_ADDRESS"
KINDS = ("local", "dask")


@dataclass(frozen=True)
class ExecutorChoice:
    """The executor's kind, and for Dask the scheduler's address (None: a LocalCluster per run)."""

    kind: str = "local"
    address: str | None = None

    @property
    def remote(self) -> bool:
        return self.kind != "local"


LOCAL = ExecutorChoice()


def choose_executor(
    cli_kind: str | None,
    cli_address: str | None,
    environ: Mapping[str, str],
    plan_kind: str | None,
) -> ExecutorChoice:
    """The run's executor; UserError (exit 2) for an unknown kind or an address without Dask.

    An address alone (`--dask-address` or $ENGINE_DASK_ADDRESS) does not choose Dask: an address
    exported in a shell profile must not move every run to a cluster.
    """
    kind = cli_kind or environ.get(EXECUTOR_ENV) or plan_kind or "local"
    if kind not in KINDS:
        source = "--executor" if cli_kind else EXECUTOR_ENV if environ.get(EXECUTOR_ENV) else ""
        where = f"{source}: " if source else "globals.executor: "
        raise UserError(f"{where}unknown executor {kind!r}; expected one of: {', '.join(KINDS)}.")
    address = cli_address or environ.get(ADDRESS_ENV) or None
    if kind == "local":
        if cli_address:
            raise UserError("--dask-address needs the Dask executor (--executor dask).")
        return LOCAL
    return ExecutorChoice(kind, address)


@asynccontextmanager
async def remote_executor(request: RunRequest) -> AsyncIterator[Executor | None]:
    """The run's Dask executor, connected, and closed after the run; None for a local run (which
    imports nothing of Dask). UserError (exit 2) for a missing extra or unreachable scheduler, and
    for steps on the cluster that use secrets without a sealing key (checked first)."""
    plan = request.loaded.plan
    kind = plan.globals.executor
    choice = choose_executor(request.executor, request.dask_address, os.environ, kind)
    if not choice.remote:
        yield None
        return
    from engine.executors.dask.routing import Placement, Routed
    from engine.executors.dask.sealing import load_key, require_key
    from engine.run.environment import secret_value

    given = [s.name for s in plan.secret_specs if secret_value(s, os.environ, request.secrets_file)]
    placement = Placement.of(plan, set_secrets=given)
    sealer = load_key()
    if sealer is None and placement.secret_steps:
        require_key()  # raises: nothing is sent in clear instead
    from engine.executors.dask.cluster import connect

    connection = await connect(choice.address)  # UserError first if `distributed` is missing
    from engine.executors.dask.executor import DaskExecutor

    executor = DaskExecutor(connection, placement, sealer)
    try:
        if not placement.local:
            yield executor
        else:
            # Steps pinned with executor: "local" run here, as in a local run.
            from engine.executors.local import LocalExecutor

            local = LocalExecutor(adopt_orphans=request.adopt_orphans)
            yield Routed(executor, local, placement.local)
    finally:
        await executor.aclose()
