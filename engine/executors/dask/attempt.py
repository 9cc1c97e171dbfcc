"""The engine side of one attempt on a Dask worker: its future, placement, log pump and stop.

The attempt learns where it runs from the worker's `start` event, and then copies the worker-local
log into `spec.log_path` by offset (remote.py says why this way), so `engine logs --follow` and the
dashboard follow a remote step as a local one. Its end is the task's result: the exit status,
outputs and a log of up to a MiB whole, sent ahead by the worker's `end` event (so no gather) or
else gathered. No shared file system is assumed, and a short step costs no log read.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from distributed.client import FutureCancelledError, FuturesCancelledError
from distributed.client import _wait as wait  # `distributed.wait` without its default client

from engine.executors.base import AttemptResult, LaunchSpec, Placed
from engine.executors.dask.claim_handler import HANDLER as CLAIM_HANDLER
from engine.executors.dask.remote import HANDLER, READ_LIMIT
from engine.executors.logfile import LOG_FLAGS, write_all

if TYPE_CHECKING:
    from distributed import Client, Future

LOG_POLL_SEC = 0.2
# After the result, how long the rest of the log may take to arrive before it is declared lost.
LOG_DRAIN_SEC = 30.0
ASK_TIMEOUT_SEC = 30.0  # one request to a worker, through the scheduler


class DaskAttempt:
    """One attempt submitted as a Dask task; `wait`, `terminate` and `kill` as a local attempt's."""

    def __init__(
        self,
        client: Client,
        spec: LaunchSpec,
        key: str,
        future: Future[Any],
        release: Callable[[Future[Any]], None],
    ) -> None:
        """`release` hands the future back to Dask once its result is in (executor.py)."""
        self.pid: int | None = None
        self.key = key
        self.worker: str | None = None  # the worker's address, once placed
        self.host: str | None = None
        self.placed_at: float | None = None  # the engine's clock, never the worker's
        self._client = client
        self._spec = spec
        self._future = future
        self._release = release
        self._submitted_at = time.time()
        self._canceled = False
        self._no_worker: str | None = None  # why no worker of the cluster can run it, if so
        self._gone: str | None = None  # its worker left and no other can run it (placement.py)
        self._later_by = 0.0  # how much `engine extend` moved its timeout
        self._offset = 0
        self._log_fd = _open_log(os.fspath(spec.log_path))
        self._log_size: int | None = None  # the worker's final log size, known at the end
        self._wake = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None
        # Set when the pump must write no more: Python 3.11's wait_for can swallow its cancel.
        self._pump_stopped = False
        self._whole_log = False  # the result brought the whole log: nothing to read
        self._value: dict[str, Any] | None = None  # the result, when its `end` event brought it
        self._judging = False  # finding out whether a step no worker can run had started
        # Where and when a worker started it; canceled if none ever did.
        self.placement: asyncio.Future[Placed] = asyncio.get_running_loop().create_future()
        self._stops: set[asyncio.Task[None]] = set()  # stop requests under way
        self._outcome: asyncio.Task[AttemptResult] = asyncio.ensure_future(self._run())

    async def wait(self) -> AttemptResult:
        """Waits for the result; canceling the wait leaves the attempt running."""
        return await asyncio.shield(self._outcome)

    async def terminate(self, grace_sec: float) -> None:
        """TERMs the step's group on its worker (KILL after `grace_sec`), or drops it unplaced."""
        if not self._outcome.done():
            self._canceled = True
            await self._stop("term", grace_sec)
        await self.wait()

    def kill(self) -> None:
        """KILLs the step's group on its worker now, or drops it if not placed yet."""
        if not self._outcome.done():
            self._canceled = True
            self._later(self._stop("kill", 0.0))

    @property
    def deadline(self) -> float | None:
        """When its timeout (enforced on the worker, from the real start) should stop it."""
        if self.placed_at is None or self._spec.timeout_sec is None or self._outcome.done():
            return None
        return self.placed_at + self._spec.timeout_sec + self._later_by

    async def extend_timeout(self, until: float) -> str | None:
        """Asks its worker, which keeps the timeout, to move it to `until`; why not, if it cannot.

        The worker is sent how much later than the first deadline, a duration: its clock and the
        engine's may differ. A timeout that fired on the worker cannot be taken back there.
        """
        if self._canceled or self._outcome.done():
            return "it is no longer running"
        if self.placed_at is None:
            # A short step reports its start only after 0.5 s (remote.py): queued, or just begun.
            return (
                "no worker has reported it started yet (it waits in Dask's queue, or began less"
                " than half a second ago); its timeout starts when a worker starts it"
            )
        if self._spec.timeout_sec is None:
            return "it has no timeout"
        later_by = until - (self.placed_at + self._spec.timeout_sec)
        try:
            answer = await self._ask("extend", later_by=later_by)
        except Exception:
            return f"{self._where()} did not answer"
        if answer is True:
            self._later_by = max(self._later_by, later_by)
            return None
        return "it is no longer running" if answer is None else str(answer)

    def done_callback(self, callback: Callable[[], object]) -> None:
        """Calls `callback` once the attempt's result is known."""
        self._outcome.add_done_callback(lambda _: callback())

    def waiting(self) -> bool:
        """Whether it still waits in Dask's queue: submitted, neither placed nor ended."""
        return self.worker is None and not self._outcome.done()

    def ended(self) -> bool:
        return self._outcome.done()

    def worker_gone(self, reason: str) -> None:
        """Ends, as lost, a placed attempt whose worker left when no other can run it: Dask would
        keep it queued for ever, where no worker claims it (placement.py)."""
        if not self._outcome.done() and self._gone is None:
            self._gone = f"{self._where()} was lost mid-step, and {reason}"
            self._later(self._drop())

    def no_worker(self, reason: str) -> None:
        """Ends a queued attempt that no worker of the cluster can run (placement.py); as lost if
        a worker had in fact started it (it tells so only after START_AFTER_SEC) and left."""
        if self.waiting() and not self._judging:
            self._judging = True
            self._later(self._no_worker_or_gone(reason))

    async def _no_worker_or_gone(self, reason: str) -> None:
        claimant = await self._claim()  # also keeps any worker from starting it from now on
        if isinstance(claimant, str) and claimant:
            self._gone = f"its Dask worker {claimant} was lost mid-step, and {reason}"
        else:
            self._no_worker = reason
        await self._drop()

    async def _drop(self) -> None:
        # An asynchronous client's cancel is a coroutine: not awaited, it would drop nothing.
        await self._client.cancel([self._future])

    def placed(self, message: dict[str, Any]) -> None:
        """The worker's `start` event: where and (by the engine's clock) when the step started."""
        if self.worker is not None:
            return
        # How long it had run when the worker said so: the engine's clock, never the worker's.
        self.placed_at = max(self._submitted_at, time.time() - float(message.get("after") or 0))
        self.worker = message.get("w")
        self.host = message.get("host")
        self.pid = message.get("pid")
        where = Placed(at=self.placed_at, host=self.host, worker=self.worker, pid=self.pid)
        if not self.placement.done():
            self.placement.set_result(where)
        if not self._whole_log:
            self._pump = asyncio.ensure_future(self._copy_log())
        if self._canceled:  # asked to stop before it was known to run
            self._later(self._stop("term", self._spec.kill_grace_sec))

    def result_arrived(self, value: dict[str, Any]) -> None:
        """The worker's `end` event: the task's result, sent just before the task ends."""
        self._value = value

    def _later(self, stop: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(stop)
        self._stops.add(task)
        task.add_done_callback(self._stops.discard)

    async def _stop(self, action: str, grace_sec: float) -> None:
        worker = self.worker
        if worker is None:
            # The engine claims the key itself, so that no worker starts it after this. A worker
            # that claimed it first runs it (its start event comes only after START_AFTER_SEC):
            # it is stopped there, and its result says how it ended. Else Dask drops it.
            claimant = await self._claim()
            if claimant is True or not claimant:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._drop(), ASK_TIMEOUT_SEC)
                return
            worker = claimant
        # Queued attempts stopped at the same moment go first: a slot freed by this one must not
        # start a task whose cancel has not reached the scheduler yet.
        await asyncio.sleep(0)
        with contextlib.suppress(Exception):  # a worker that is gone ends the attempt as lost
            await self._ask(action, grace=grace_sec, worker=worker)

    async def _claim(self) -> bool | str | None:
        """The engine's claim of its key (claim_handler.py): True when no worker had claimed it,
        else the address of the worker that did; None when the scheduler did not answer."""
        scheduler = self._client.scheduler
        assert scheduler is not None
        claim = getattr(scheduler, CLAIM_HANDLER)(run_id=self._spec.run_id, key=self.key, by="")
        try:
            answer: bool | str = await asyncio.wait_for(claim, ASK_TIMEOUT_SEC)
        except Exception:
            return None
        return answer

    async def _ask(self, action: str, worker: str | None = None, **args: Any) -> Any:
        worker = worker or self.worker
        assert worker is not None and self._client.scheduler is not None
        message = {"op": HANDLER, "action": action, "key": self.key, **args}
        asked = self._client.scheduler.proxy(msg=message, worker=worker)
        return await asyncio.wait_for(asked, ASK_TIMEOUT_SEC)

    async def _run(self) -> AttemptResult:
        lost: str | None = None
        value: dict[str, Any] | None = None
        try:
            value = await self._outcome_of_task()
        except (FutureCancelledError, FuturesCancelledError) as error:
            if self._gone is not None:
                lost = self._gone
            elif not self._canceled and self._no_worker is None:
                reason = getattr(error, "reason", None) or error
                lost = f"the Dask scheduler dropped the step ({reason}); it may have run in part"
        except Exception as error:
            lost = f"{self._where()} was lost ({type(error).__name__}: {error})"
        finally:
            self._release(self._future)  # else its result stays in the worker's memory
        if value is not None and "refused" in value:
            if not self._canceled:  # else it is the claim of a cancel before the task started
                lost = f"{self._where()} was lost mid-step; {value['refused']}, which refused it"
            value = None
        inline: bytes | None = None
        if value is not None:
            self._log_size = value["log_size"]
            inline = value["log"]
            self._whole_log = inline is not None
            self._placed_from_result(value)
        self.placement.cancel()  # no-op once placed
        missing = await self._finish_log(gone=lost is not None, inline=inline)
        return self._result(value, lost, missing)

    async def _outcome_of_task(self) -> dict[str, Any]:
        """The task's result once Dask says it ended: from its `end` event, which comes ahead of
        the task's end on the same streams, else gathered (a round trip through the scheduler to
        the worker). Raises as awaiting the future does."""
        # No gather. A canceled future raises below, with its reason; but a result that came
        # stands even if the scheduler then went (it cancels every future as it goes).
        with contextlib.suppress(FuturesCancelledError):
            await wait([self._future])
        if self._value is not None:
            return self._value
        value: dict[str, Any] = await self._future
        return value

    def _where(self) -> str:
        return "its Dask worker" if self.worker is None else f"its Dask worker {self.worker}"

    def _placed_from_result(self, value: dict[str, Any]) -> None:
        if self.worker is None:  # the start event may come after the result, or not at all
            where = {key: value.get(key) for key in ("w", "host", "pid")}
            self.placed({**where, "after": value.get("duration")})

    async def _finish_log(self, gone: bool, inline: bytes | None) -> int:
        """Writes the rest of the log, from the result (`inline`, the whole log when short) or
        read from the worker (bounded); how many bytes never arrived.

        `gone`: the worker or the scheduler is lost, so nothing more can arrive.
        """
        self._wake.set()
        caught_up = self._log_size is not None and self._offset >= self._log_size
        if (gone or caught_up or inline is not None) and self._pump is not None:
            # Nothing more can come, or is needed: no read round trip to wait. A read under way
            # is dropped whole, so `_offset` is where the file ends.
            self._pump_stopped = True
            self._pump.cancel()
        elif self._pump is not None:
            with contextlib.suppress(TimeoutError, Exception):
                await asyncio.wait_for(self._pump, LOG_DRAIN_SEC)
        if inline is not None and len(inline) > self._offset:
            with contextlib.suppress(OSError):
                write_all(self._log_fd, inline[self._offset :])
            self._offset = len(inline)
        missing = 0 if self._log_size is None else max(0, self._log_size - self._offset)
        # A worker that sent the whole log has already dropped its copy.
        if self.worker is not None and not gone and inline is None:
            # Not awaited: the worker's copy of the files need not delay the attempt's end.
            self._later(self._forget())
        if missing:
            note = f"\n[engine] {missing} bytes of this log did not arrive from the worker\n"
            with contextlib.suppress(OSError):
                write_all(self._log_fd, note.encode())
        os.close(self._log_fd)
        return missing

    def _log_done(self) -> bool:
        """Whether the pump must write no more (the log is complete, or its file closed)."""
        return self._pump_stopped

    async def _forget(self) -> None:
        with contextlib.suppress(Exception):
            await self._ask("forget")

    async def _copy_log(self) -> None:
        """Copies new log bytes from the worker while the step runs, then up to its final size.

        Ends quietly when the worker or the scheduler cannot be reached: the attempt's end says
        what was lost, and `_finish_log` counts the missing bytes.
        """
        with contextlib.suppress(Exception):
            while not self._log_done():
                data = await self._ask("read", offset=self._offset)
                if self._log_done():
                    return
                if data:
                    write_all(self._log_fd, data)
                    self._offset += len(data)
                    if len(data) >= READ_LIMIT:
                        continue
                done = self._log_size is not None and self._offset >= self._log_size
                if data is None or done:
                    return
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), LOG_POLL_SEC)

    def _result(
        self, value: dict[str, Any] | None, lost: str | None, missing: int
    ) -> AttemptResult:
        started = self.placed_at or self._submitted_at
        if value is None and self._no_worker is not None:
            return AttemptResult(
                exit_code=None, signal=None, timed_out=False, canceled=False,
                spawn_error=self._no_worker, pid=None, started_at=started,
                finished_at=time.time(), output_tail="", no_worker=True,
            )  # fmt: skip
        if value is None:
            return AttemptResult(
                exit_code=None, signal=None, timed_out=False, canceled=lost is None,
                spawn_error=None, pid=self.pid, started_at=started, finished_at=time.time(),
                output_tail="", lost=lost,
            )  # fmt: skip
        if value["outputs"] is not None:
            _write_outputs(self._spec.env.get("ENGINE_OUTPUT"), value["outputs"])
        log_error = value["log_error"]
        if missing and log_error is None:
            log_error = "the rest of the log did not arrive from the Dask worker"
        return AttemptResult(
            exit_code=value["exit_code"],
            signal=value["signal"],
            timed_out=value["timed_out"],
            canceled=value["canceled"] or (self._canceled and value["exit_code"] is None),
            spawn_error=value["spawn_error"],
            pid=value["pid"],
            started_at=started,
            finished_at=min(time.time(), started + value["duration"]),
            output_tail=value["output_tail"],
            log_error=log_error,
            log_bytes_lost=missing or value["log_bytes_lost"],
            cpu_user_ms=value["cpu_user_ms"],
            cpu_sys_ms=value["cpu_sys_ms"],
            max_rss_kb=value["max_rss_kb"],
        )


def _open_log(path: str) -> int:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return os.open(path, LOG_FLAGS, 0o644)


def _write_outputs(path: str | None, data: bytes) -> None:
    """Puts the worker's outputs where the engine reads every step's (AttemptIO.collect)."""
    if path:
        with open(path, "wb") as outputs:
            outputs.write(data)
