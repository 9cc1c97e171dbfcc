"""A step asking for resources no worker advertises is found out, before and while it waits."""

from __future__ import annotations

import pytest

from engine.executors.dask.placement import Watch, check, unmet
from tests.support import until

distributed = pytest.importorskip("distributed")

GPU_WORKER = {"tcp://a:1": {"resources": {"gpu": 2, "mem_gb": 64}}}


def test_a_worker_offering_at_least_as_much_of_each_resource_can_run_it() -> None:
    assert unmet("train", {"gpu": 1, "mem_gb": 8}, GPU_WORKER) is None
    assert unmet("plain", {}, {}) is None  # no resources: never checked


def test_the_sentence_names_what_the_step_asks_and_what_workers_offer() -> None:
    workers = {**GPU_WORKER, "tcp://b:1": {"resources": {}}}
    assert unmet("train", {"gpu": 4}, workers) == (
        'no worker of the cluster has the resources step "train" asks for (gpu=4): '
        "its workers offer no resources; gpu=2, mem_gb=64"
    )
    assert unmet("train", {"tpu": 1}, {}) == (
        'no worker of the cluster has the resources step "train" asks for (tpu=1): '
        "the cluster has no worker"
    )


class Attempt:
    """What the watch sees of an attempt: placed on `worker` or waiting; how it was ended."""

    def __init__(self, worker: str | None = None) -> None:
        self.worker = worker
        self.ending: tuple[str, str] | None = None

    def waiting(self) -> bool:
        return self.worker is None and self.ending is None

    def ended(self) -> bool:
        return self.ending is not None

    def no_worker(self, reason: str) -> None:
        self.ending = ("no_worker", reason)

    def worker_gone(self, reason: str) -> None:
        self.ending = ("gone", reason)


async def test_a_real_cluster_is_asked_and_a_leaving_worker_is_noticed() -> None:
    async with (
        distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=True,
            resources={"gpu": 1},
            dashboard_address=":0",  # none would be the default port, maybe taken
            asynchronous=True,
        ) as cluster,
        distributed.Client(cluster, asynchronous=True) as client,
    ):

        async def identity():  # type: ignore[no-untyped-def]
            return await client.scheduler.identity(n_workers=-1)

        assert await check("train", {"gpu": 1}, identity) is None
        reason = await check("tpu-step", {"tpu": 1}, identity)
        assert reason is not None and "(tpu=1): its workers offer gpu=1" in reason
        async with distributed.Nanny(cluster.scheduler_address, resources={"tpu": 1}) as nanny:
            await client.wait_for_workers(2, timeout=30)
            assert await check("tpu-step", {"tpu": 1}, identity) is None
            tpu_worker = next(
                address
                for address, info in (await identity())["workers"].items()
                if info["resources"].get("tpu")
            )
            looks = 0

            async def counted():  # type: ignore[no-untyped-def]
                nonlocal looks
                looks += 1
                return await identity()

            watch = Watch(counted, interval=0.05)
            queued, running, elsewhere = Attempt(), Attempt(tpu_worker), Attempt()
            watch.add("q", "queued", {"tpu": 1}, queued)
            watch.add("r", "running", {"tpu": 1}, running)
            watch.add("g", "gpu", {"gpu": 1}, elsewhere)
            await until(lambda: looks >= 3, timeout=30)  # two whole looks judged, not a pause
            assert (queued.ending, running.ending) == (None, None)  # a tpu worker is there
            await nanny.close()
            await until(lambda: queued.ending and running.ending, timeout=30)
        assert queued.ending is not None and queued.ending[0] == "no_worker"
        assert "(tpu=1): its workers offer gpu=1" in queued.ending[1]
        assert running.ending is not None and running.ending[0] == "gone"
        assert elsewhere.ending is None  # a gpu worker remains
        watch.close()
