"""The Dask executor: submits each attempt as a Dask task and routes the workers' events to it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any

from engine.errors import UserError
from engine.executors.base import AttemptResult, LaunchSpec
from engine.executors.dask import claims
from engine.executors.dask import placement as placement_module
from engine.executors.dask.attempt import DaskAttempt
from engine.executors.dask.payload import build_payload
from engine.executors.dask.relay import TOPIC_PREFIX
from engine.executors.dask.remote import CLAIMS, run_attempt
from engine.executors.dask.routing import Placement
from engine.executors.local import FailedAttempt

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet
    from distributed import Future

    from engine.executors.dask.cluster import Connection

CLOSE_TIMEOUT_SEC = 15.0
# An ended attempt's future is released with the next submit, in the same message to the
# scheduler (the client sends at most one every 10 ms), or after this long if none comes.
RELEASE_WITHIN_SEC = 0.05
LOST_CLOSE_SEC = 2.0  # a client whose scheduler is gone only retries connecting while it closes


def attempt_key(spec: LaunchSpec) -> str:
    """The task's key: unique per attempt, so Dask never hands back an earlier attempt's result."""
    return f"pe-{spec.run_id}-{spec.step_id}-{spec.attempt}"


class DaskExecutor:
    """Runs every attempt of a run on the cluster behind `connection`."""

    def __init__(
        self,
        connection: Connection,
        placement: Placement | None = None,
        sealer: MultiFernet | None = None,
    ) -> None:
        self.connection = connection
        self._client = connection.client
        self._placement = placement or Placement()
        self._sealer = sealer  # None: the run passes no secret to a step on the cluster
        self._watch = placement_module.Watch(self._identity)  # attempts that ask for resources
        # The scheduler forgets a client's own topic once the client leaves (events-cleanup-delay).
        self._topic = f"{TOPIC_PREFIX}{self._client.id}"
        self._attempts: dict[str, DaskAttempt] = {}
        self._unreleased: list[Future[Any]] = []  # ended attempts' futures (`_release_later`)
        self._release_timer: asyncio.TimerHandle | None = None
        self._run_ids: set[str] = set()
        self._client.subscribe_topic(self._topic, self._on_event)
        self._stamps = claims.Stamps(lambda: self._client.scheduler)
        # Killed engines' claims are forgotten by the next engine to connect: not awaited, it
        # must not delay the run.
        self._sweep = asyncio.ensure_future(self._forget_stale_claims())

    async def launch(self, spec: LaunchSpec) -> DaskAttempt | FailedAttempt:
        """Submits the attempt; it runs once a worker has a free thread."""
        key = attempt_key(spec)
        self._run_ids.add(spec.run_id)
        await self._stamps.stamped(spec.run_id)  # a round trip for a run's first steps only
        need = self._placement.resources.get(spec.step_id)
        if need:
            # Only a step with resources pays this round trip to the scheduler.
            reason = await placement_module.check(spec.step_id, need, self._identity)
            if reason is not None:
                return FailedAttempt(_not_started(reason, no_worker=True))
        try:
            payload = build_payload(spec, key, self._topic, self._sealer)
        except UserError as error:
            return FailedAttempt(_not_started(error.message))
        # Before the submit: a release takes one more turn of the event loop than a submit to
        # reach the client's outgoing batch.
        self._release_now()
        future = self._client.submit(
            run_attempt, payload, key=key, pure=False, retries=0, **self.submit_options(spec)
        )
        try:
            attempt = DaskAttempt(self._client, spec, key, future, self._release_later)
        except OSError as error:
            await self._client.cancel([future])
            return FailedAttempt(_not_started(f"cannot open log file {spec.log_path}: {error}"))
        self._attempts[key] = attempt
        attempt.done_callback(lambda: self._attempts.pop(key, None))
        if need:
            self._watch.add(key, spec.step_id, need, attempt)
        return attempt

    def _release_later(self, future: Future[Any]) -> None:
        """Releases an ended attempt's future with the next submit, or soon.

        The client sends its messages to the scheduler in batches, at most one every 10 ms. A
        release sent alone as a step ends would make the next step's submit, which follows a
        moment later, wait out that interval.
        """
        self._unreleased.append(future)
        if self._release_timer is None:
            loop = asyncio.get_running_loop()
            self._release_timer = loop.call_later(RELEASE_WITHIN_SEC, self._release_now)

    def _release_now(self) -> None:
        if self._release_timer is not None:
            self._release_timer.cancel()
            self._release_timer = None
        unreleased, self._unreleased = self._unreleased, []
        for future in unreleased:
            future.release()

    def submit_options(self, spec: LaunchSpec) -> dict[str, Any]:
        """Extra `Client.submit` keywords for this attempt: its step's worker resources."""
        need = self._placement.resources.get(spec.step_id)
        return {"resources": dict(need)} if need else {}

    async def _forget_stale_claims(self) -> None:
        with contextlib.suppress(Exception):  # a scheduler that is gone has no claims left
            assert self._client.scheduler is not None
            await asyncio.wait_for(claims.sweep(self._client.scheduler), CLOSE_TIMEOUT_SEC)

    async def _identity(self) -> Any:
        """The scheduler's workers and what each advertises (the async client caches none)."""
        assert self._client.scheduler is not None
        return await self._client.scheduler.identity(n_workers=-1)

    def close(self) -> None:
        """Stops watching attempts' placement; `aclose` disconnects."""
        self._watch.close()
        self._release_now()

    async def aclose(self) -> None:
        """Forgets the run's claims (remote.py), disconnects from the cluster, and stops a
        LocalCluster started for the run; bounded, as the scheduler may be gone."""
        # A lost scheduler took the claims with it, and closing waits for reconnect attempts.
        connected = self._client.status == "running"
        self._stamps.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._sweep, CLOSE_TIMEOUT_SEC if connected else 0)
        with contextlib.suppress(Exception):
            self._client.unsubscribe_topic(self._topic)
            scheduler = self._client.scheduler
            assert scheduler is not None
            for run_id in self._run_ids if connected else ():
                forget = scheduler.set_metadata(keys=[CLAIMS, run_id], value=None)
                await asyncio.wait_for(forget, CLOSE_TIMEOUT_SEC)
        with contextlib.suppress(TimeoutError):
            bound = CLOSE_TIMEOUT_SEC if connected else LOST_CLOSE_SEC
            await asyncio.wait_for(self.connection.close(), bound)

    def _on_event(self, event: tuple[float, dict[str, Any]]) -> None:
        _, message = event
        attempt = self._attempts.get(message.get("k", ""))
        if attempt is None:
            return
        if message.get("e") == "start":
            attempt.placed(message)
        elif message.get("e") == "end":
            attempt.result_arrived(message["r"])


def _not_started(message: str, no_worker: bool = False) -> AttemptResult:
    now = time.time()
    return AttemptResult(
        exit_code=None, signal=None, timed_out=False, canceled=False, spawn_error=message,
        pid=None, started_at=now, finished_at=now, output_tail="", no_worker=no_worker,
    )  # fmt: skip
