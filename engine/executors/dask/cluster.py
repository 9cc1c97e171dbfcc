"""The engine's connection to a Dask cluster: a client on the run's event loop, and its cluster.

The only module (with the worker side, remote.py) that imports `distributed`, and only once the
Dask executor is chosen: a local run never pays its ~0.5 s import.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.errors import UserError

if TYPE_CHECKING:
    from distributed import Client

LOGGING_ENV = "DASK_LOGGING__DISTRIBUTED"
EXTRA_HINT = "install the extra: pip install 'plan-engine[dask]'"
# A LocalCluster for a run that names no scheduler: small, as it shares the engine's machine.
LOCAL_WORKERS = 2
LOCAL_THREADS = 1


def import_distributed() -> Any:
    """The `distributed` module; UserError (exit 2) naming the extra when it is not installed."""
    try:
        import distributed
    except ImportError as error:
        raise UserError(
            f"the Dask executor needs the distributed package ({error}); {EXTRA_HINT}"
        ) from None
    return distributed


@dataclass
class Connection:
    """A connected client, and the LocalCluster it owns when the run named no address."""

    client: Client
    cluster: Any | None
    address: str

    async def close(self) -> None:
        """Disconnects; a LocalCluster started for the run is shut down with its workers."""
        with contextlib.suppress(Exception):
            await self.client.close()
        if self.cluster is not None:
            with contextlib.suppress(Exception):
                await self.cluster.close()


async def connect(address: str | None) -> Connection:
    """A client of the scheduler at `address`, or of a new LocalCluster; UserError if unreachable.

    The worker plugin (remote.py) is registered on every worker, present and future, before any
    step is submitted.
    """
    distributed = import_distributed()
    import dask

    if LOGGING_ENV not in os.environ:
        # Dask logs to stderr at INFO, and a lost scheduler with tracebacks: the run's display
        # says what matters in its own words. DASK_LOGGING__DISTRIBUTED=info brings them back.
        for name in ["distributed", *logging.root.manager.loggerDict]:
            if name.split(".")[0] == "distributed":  # Dask's config sets some children's level
                logging.getLogger(name).setLevel(logging.CRITICAL)

    from engine.executors.dask.remote import EnginePlugin

    cluster = None
    try:
        if address is None:
            # Quiet: the cluster's own logs would interleave with the run's progress display.
            cluster = await distributed.LocalCluster(
                n_workers=LOCAL_WORKERS, threads_per_worker=LOCAL_THREADS, processes=True,
                dashboard_address=":0", asynchronous=True, silence_logs=50,
            )  # fmt: skip
            target: Any = cluster
        else:
            target = address
        # Dask's own setting (30 s; DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT) bounds the wait.
        timeout = dask.config.get("distributed.comm.timeouts.connect")
        client = await distributed.Client(
            target, asynchronous=True, timeout=timeout, set_as_default=False
        )
    except (OSError, TimeoutError) as error:
        if cluster is not None:
            await cluster.close()
        where = address or "a LocalCluster"
        raise UserError(f"cannot reach the Dask scheduler at {where}: {error}") from None
    connection = Connection(client, cluster, client.scheduler.address)
    try:
        await _register_scheduler_plugins(client, address or "a LocalCluster")
        await client.register_plugin(EnginePlugin(), name=EnginePlugin.name)
    except BaseException:
        await connection.close()
        raise
    return connection


async def _register_scheduler_plugins(client: Client, where: str) -> None:
    """Installs plan-engine's scheduler plugins: the at-most-once claim handler
    (claim_handler.py) and the event relay (relay.py); UserError if the scheduler refuses them."""
    from engine.executors.dask.claim_handler import ClaimHandler
    from engine.executors.dask.relay import EventRelay
    from engine.executors.dask.remote import CLAIMS

    plugins = (ClaimHandler(CLAIMS), EventRelay())
    try:
        await asyncio.gather(*(client.register_plugin(p, name=p.name) for p in plugins))
    except Exception as error:
        raise UserError(
            f"the Dask scheduler at {where} refused plan-engine's scheduler plugin: {error}"
        ) from None
