"""The Dask executor: submits each attempt as a Dask task and routes the workers' events to it."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from engine.executors.base import AttemptResult, LaunchSpec
from engine.executors.dask.attempt import DaskAttempt
from engine.executors.dask.payload import build_payload
from engine.executors.dask.remote import run_attempt
from engine.executors.local import FailedAttempt

if TYPE_CHECKING:
    from engine.executors.dask.cluster import Connection

TOPIC_PREFIX = "plan-engine-"


def attempt_key(spec: LaunchSpec) -> str:
    """The task's key: unique per attempt, so Dask never hands back an earlier attempt's result."""
    return f"pe-{spec.run_id}-{spec.step_id}-{spec.attempt}"


class DaskExecutor:
    """Runs every attempt of a run on the cluster behind `connection`."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._client = connection.client
        # The scheduler forgets a client's own topic once the client leaves (events-cleanup-delay).
        self._topic = f"{TOPIC_PREFIX}{self._client.id}"
        self._attempts: dict[str, DaskAttempt] = {}
        self._client.subscribe_topic(self._topic, self._on_event)

    async def launch(self, spec: LaunchSpec) -> DaskAttempt | FailedAttempt:
        """Submits the attempt; it runs once a worker has a free thread."""
        key = attempt_key(spec)
        payload = build_payload(spec, key, self._topic)
        future = self._client.submit(
            run_attempt, payload, key=key, pure=False, retries=0, **self.submit_options(spec)
        )
        try:
            attempt = DaskAttempt(self._client, spec, key, future)
        except OSError as error:
            future.cancel()
            return FailedAttempt(_not_started(f"cannot open log file {spec.log_path}: {error}"))
        self._attempts[key] = attempt
        attempt.done_callback(lambda: self._attempts.pop(key, None))
        return attempt

    def submit_options(self, spec: LaunchSpec) -> dict[str, Any]:
        """Extra `Client.submit` keywords for this attempt (worker resources, say)."""
        return {}

    def close(self) -> None:
        """Nothing to do synchronously; `aclose` disconnects."""

    async def aclose(self) -> None:
        """Disconnects from the cluster (and stops a LocalCluster started for the run)."""
        self._client.unsubscribe_topic(self._topic)
        await self.connection.close()

    def _on_event(self, event: tuple[float, dict[str, Any]]) -> None:
        _, message = event
        attempt = self._attempts.get(message.get("k", ""))
        if attempt is not None and message.get("e") == "start":
            attempt.placed(message)


def _not_started(message: str) -> AttemptResult:
    now = time.time()
    return AttemptResult(
        exit_code=None, signal=None, timed_out=False, canceled=False, spawn_error=message,
        pid=None, started_at=now, finished_at=now, output_tail="",
    )  # fmt: skip
