"""The worker side: a Dask task that runs one attempt with the local executor, and its controls.

An attempt on a worker is run exactly as on the engine's host, by `LocalExecutor` (its own process
group, timeout TERM -> grace -> KILL of the group, masking), on the worker's event loop: the task is
a coroutine, so it holds one of the worker's task slots without holding a thread.

The log stays in a worker-local file that the engine reads by offset through `control` (a worker
handler reached by the scheduler's `proxy`) while the step runs: bytes pass through the scheduler
without being kept. A log of at most one read (`READ_LIMIT`) comes back whole in the task's
result, so a short step costs no read at all (attempt.py starts reading only once a step has run
a while). Such a result is also sent ahead as the `end` event on the engine's topic, which the
scheduler forwards without keeping (relay.py): the engine then has no result to gather.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import tempfile
import time
from dataclasses import dataclass, replace
from typing import Any

from distributed import WorkerPlugin, get_worker
from tornado.ioloop import PeriodicCallback

from engine.executors.base import AttemptHandle, LaunchSpec
from engine.executors.dask.claim_handler import HANDLER as CLAIM_HANDLER
from engine.executors.dask.payload import open_payload
from engine.executors.dask.sealing import SealingError
from engine.executors.dask.sweep import SWEEP_EVERY_SEC, WORKER_ENV, sweep, worker_mark
from engine.executors.local import LocalExecutor
from engine.masking import StreamMasker
from engine.run.outputs import MAX_OUTPUT_BYTES

HANDLER = "plan_engine"
CLAIMS = "plan-engine-claims"  # the scheduler's metadata: run id -> task key -> worker
READ_LIMIT = 1024 * 1024  # log bytes per read: a 20 MB log is 20 round trips
# A step that ends sooner sends no start event: its result says where it ran, and brings its log.
# Fewer messages per short step, and fewer events kept by the scheduler.
START_AFTER_SEC = 0.5
# A finished attempt whose engine never came back for the rest of its log (it died) is forgotten.
FORGET_AFTER_SEC = 600.0


@dataclass
class _Running:
    handle: AttemptHandle
    spec: LaunchSpec
    outputs_path: str
    finished_at: float | None = None
    first_deadline: float | None = None  # by this worker's clock; `extend` moves it from there


_running: dict[str, _Running] = {}  # task key -> its attempt, on this worker process
# task key -> (action, grace, when): stop requests for a key claimed here and not started yet.
_early_stops: dict[str, tuple[str, float, float]] = {}
_executor: LocalExecutor | None = None
_worker_mark: str | None = None
_stopping: set[asyncio.Future[None]] = set()  # terminations under way (the loop keeps weak refs)


def workdir() -> str:
    """This worker process's directory for logs, outputs and scripts (removed at its teardown)."""
    path = os.path.join(tempfile.gettempdir(), f"plan-engine-worker-{os.getpid()}")
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


async def run_attempt(payload: dict[str, Any]) -> dict[str, Any]:
    """Runs the attempt to its end; its result as plain data (exit, signal, tail, outputs...)."""
    global _executor
    worker = get_worker()
    _forget_stale()
    key = payload["key"]
    if not await _claim(worker, payload["run_id"], key):
        # Dask runs a task again when its worker died or left: the step may have run already.
        return {"refused": f"Dask started it again on {worker.address}"}
    try:
        spec, outputs_path = open_payload(payload, workdir())
    except SealingError as error:
        host = socket.gethostname()
        return _not_started(f"cannot read the step's secrets on {host}: {error}", worker, host)
    spec = replace(spec, env={**spec.env, WORKER_ENV: _mark()})
    if _executor is None:
        _executor = LocalExecutor()
    handle = await _executor.launch(spec)
    running = _Running(handle, spec, outputs_path, first_deadline=handle.deadline)
    _running[key] = running
    early = _early_stops.pop(key, None)
    if early is not None:  # the engine stopped it between its claim and now
        action, grace, _ = early
        _stop(running, action, grace)
    host = socket.gethostname()
    spawned = time.monotonic()

    def tell_start() -> None:
        # `after`: how long it has run, a duration, so the engine need not trust this clock.
        start = {"k": key, "e": "start", "pid": handle.pid, "host": host, "w": worker.address}
        worker.log_event(payload["topic"], {**start, "after": time.monotonic() - spawned})

    told = asyncio.get_running_loop().call_later(START_AFTER_SEC, tell_start)
    try:
        result = await handle.wait()
    except asyncio.CancelledError:
        # The worker is closing and cancels its coroutine tasks: nothing of the step may stay.
        handle.kill()
        raise
    finally:
        told.cancel()
        running.finished_at = time.time()
    outputs = None
    if result.exit_code is not None:
        outputs = _read_outputs(outputs_path, spec.mask_values)
    log: bytes | None = _read(str(spec.log_path), 0, READ_LIMIT + 1)
    if log is not None and len(log) <= READ_LIMIT:
        # A log of one read rides in the result: the engine needs no more, so the files go now.
        log_size = len(log)
        _forget(key)
    else:
        log, log_size = None, _size(str(spec.log_path))
    value: dict[str, Any] = {
        "exit_code": result.exit_code,
        "signal": result.signal,
        "timed_out": result.timed_out,
        "canceled": result.canceled,
        "spawn_error": result.spawn_error,
        "pid": result.pid,
        "duration": result.finished_at - result.started_at,
        "output_tail": result.output_tail,
        "log_error": result.log_error,
        "log_bytes_lost": result.log_bytes_lost,
        "log_size": log_size,
        "log": log,
        "cpu_user_ms": result.cpu_user_ms,
        "cpu_sys_ms": result.cpu_sys_ms,
        "max_rss_kb": result.max_rss_kb,
        "outputs": outputs,
        "w": worker.address,
        "host": host,
    }
    if log is not None and sendable(value):
        # The result goes to the engine by its event stream as well, ahead of the task's end: the
        # engine then needs no gather, a round trip through the scheduler to this worker. It is
        # still returned, for an engine that missed the event.
        worker.log_event(payload["topic"], {"k": key, "e": "end", "r": value})
    return value


def sendable(value: dict[str, Any]) -> bool:
    """Whether msgpack, which carries events, can encode `value`'s text.

    Text with a lone surrogate (a name in bytes that are not UTF-8) cannot be: Dask finds out
    only as it writes the batch to the scheduler, and the worker process dies of it (seen with
    distributed 2026.8). Such a result is only returned, and pickled.
    """
    try:
        for item in value.values():
            if isinstance(item, str):
                item.encode()
    except UnicodeEncodeError:
        return False
    return True


def _not_started(message: str, worker: Any, host: str) -> dict[str, Any]:
    """The result of an attempt that could not be started here (`run_attempt`'s shape)."""
    return {
        "exit_code": None, "signal": None, "timed_out": False, "canceled": False,
        "spawn_error": message, "pid": None, "duration": 0.0, "output_tail": "",
        "log_error": None, "log_bytes_lost": None, "log_size": 0, "log": b"", "cpu_user_ms": None,
        "cpu_sys_ms": None, "max_rss_kb": None, "outputs": None, "w": worker.address,
        "host": host,
    }  # fmt: skip


async def _claim(worker: Any, run_id: str, key: str) -> bool:
    """Whether this is the task's first start: one scheduler round trip (claim_handler.py)."""
    claimed = getattr(worker.scheduler, CLAIM_HANDLER)
    return await claimed(run_id=run_id, key=key, by=worker.address) is True


def _mark() -> str:
    global _worker_mark
    if _worker_mark is None:
        _worker_mark = worker_mark()
    return _worker_mark


async def control(
    action: str, key: str, offset: int = 0, grace: float = 0.0, later_by: float = 0.0
) -> Any:
    """The engine's requests about one attempt: `read` log bytes from `offset`, `term`, `kill`,
    `extend` its timeout, `forget` (its files are no longer needed). None when this worker does
    not know the key."""
    running = _running.get(key)
    if running is None:
        if action in ("term", "kill"):
            # Claimed here but not started yet, or already gone: stopped as it starts, if it does.
            _early_stops[key] = (action, grace, time.time())
        return None
    if action == "extend":
        return await _extend(running, later_by)
    if action == "read":
        return _read(str(running.spec.log_path), offset)
    if action in ("term", "kill"):
        _stop(running, action, grace)
        return True
    if action == "forget":
        _forget(key)
        return True
    raise ValueError(f"unknown action {action!r}")


async def _extend(running: _Running, later_by: float) -> str | bool:
    """Moves the timeout to `later_by` seconds past its first deadline; True, or why not.

    A duration, not a time: the engine's clock and this worker's may differ, durations do not.
    """
    if running.first_deadline is None:
        return "it has no timeout"
    why = running.handle.extend_timeout(running.first_deadline + later_by)
    if why is not None and not isinstance(why, str):
        why = await why
    return why or True


def _stop(running: _Running, action: str, grace: float) -> None:
    if action == "kill":
        running.handle.kill()
    else:
        # Not awaited: the answer must not wait out the grace; the task's result tells the end.
        _terminate(running, grace)


def _terminate(running: _Running, grace: float) -> None:
    stopping = asyncio.ensure_future(running.handle.terminate(grace))
    _stopping.add(stopping)
    stopping.add_done_callback(_stopping.discard)


def _read(path: str, offset: int, limit: int = READ_LIMIT) -> bytes:
    try:
        with open(path, "rb") as log:
            log.seek(offset)
            return log.read(limit)
    except FileNotFoundError:
        return b""


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _read_outputs(path: str, mask_values: tuple[str, ...]) -> bytes | None:
    """The outputs file's bytes (one more than the limit, so the engine can say it is too big),
    masked before they leave the worker; None when the step wrote none."""
    try:
        with open(path, "rb") as written:
            data = written.read(MAX_OUTPUT_BYTES + 1)
    except OSError:
        return None
    masker = StreamMasker(mask_values)
    return masker.mask_all(data) if masker.active else data


def _forget(key: str) -> None:
    running = _running.pop(key, None)
    if running is None:
        return
    for path in (str(running.spec.log_path), running.outputs_path):
        with contextlib.suppress(OSError):
            os.unlink(path)
    if running.spec.script is not None:
        with contextlib.suppress(OSError):
            os.unlink(running.spec.script[0])


def _forget_stale() -> None:
    now = time.time()
    for key, (_, _, when) in list(_early_stops.items()):
        if now - when > FORGET_AFTER_SEC:
            del _early_stops[key]
    for key, running in list(_running.items()):
        if running.finished_at is not None and now - running.finished_at > FORGET_AFTER_SEC:
            _forget(key)


async def _sweep_in_thread() -> None:
    await asyncio.to_thread(sweep)  # reading every process's environment takes a while


class EnginePlugin(WorkerPlugin):
    """Installs `control` on every worker, stops an attempt whose task Dask released while it ran
    (its engine died, or canceled it), stops them all when the worker closes, and sweeps the
    steps of dead workers (sweep.py)."""

    name = "plan-engine"
    # Registered again by every engine that connects: replacing it would tear it down, and with
    # it every step that other runs have on the worker.
    idempotent = True

    def __init__(self) -> None:
        self._sweeper: PeriodicCallback | None = None

    def setup(self, worker: Any) -> None:
        worker.handlers[HANDLER] = control
        sweep()
        self._sweeper = PeriodicCallback(_sweep_in_thread, SWEEP_EVERY_SEC * 1000)
        self._sweeper.start()

    def teardown(self, worker: Any) -> None:
        if self._sweeper is not None:
            self._sweeper.stop()
        for running in _running.values():
            running.handle.kill()
        shutil.rmtree(workdir(), ignore_errors=True)

    def transition(self, key: Any, start: str, finish: str, *args: Any, **kwargs: Any) -> None:
        # Dask cannot stop a running function: a released task is told to the attempt here.
        if start in ("executing", "long-running") and finish in ("released", "cancelled"):
            running = _running.get(key) if isinstance(key, str) else None
            if running is not None and running.finished_at is None:
                _terminate(running, running.spec.kill_grace_sec)
