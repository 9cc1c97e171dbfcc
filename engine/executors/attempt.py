"""A running local attempt: its exit watch, timeout, process-group stop, and output pump.

See engine/executors/local.py for why attempts are run this way.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import signal
import time
from typing import TYPE_CHECKING

from engine.executors.base import AttemptResult, LaunchSpec
from engine.executors.exits import ExitWatcher
from engine.executors.keeper import KEEPER, descendants, signal_all
from engine.executors.logfile import file_system_full, tail_of, write_counted
from engine.executors.peak_memory import ENGINE_PEAK
from engine.humanize import plural
from engine.masking import StreamMasker
from engine.processes.groups import group_has_live_member
from engine.processes.identity import AttemptIdentity

if TYPE_CHECKING:
    from resource import struct_rusage

READ_CHUNK = 256 * 1024
# Leftover background processes of a step that exited on its own get this long to stop after TERM.
LEFTOVER_GRACE_SEC = 1.0
# After the group is gone, an escaped process (setsid) may still hold the output pipe open.
DRAIN_TIMEOUT_SEC = 2.0
# After KILL the kernel needs a moment to tear processes down; a D-state process may take longer.
KILL_SETTLE_SEC = 5.0
GROUP_POLL_SEC = 0.01


class LocalAttempt:
    """A running attempt: its process group, exit watch, timeout timer and (if masking) output pump.

    Completion is driven by loop callbacks, not by `wait()`: the common case (direct log, no
    leftovers) finishes inside the exit callback without creating a task.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        exits: ExitWatcher,
        spec: LaunchSpec,
        pid: int,
        started_at: float,
        log_start: int,
        log_fd: int | None,
        read_fd: int | None,
        masker: StreamMasker | None,
    ) -> None:
        self.pid: int | None = pid
        self._loop = loop
        self._exits = exits
        self._spec = spec
        self._returncode: int | None = None
        self._usage: struct_rusage | None = None
        self._pgid = pid  # start_new_session: the child leads its own group
        # What its processes carry in their environment: how adopted orphans are attributed.
        self._identity = AttemptIdentity.of(spec.env)
        self._started_at = started_at
        self._finished_at = started_at
        self._log_start = log_start
        self._log_fd = log_fd
        self._read_fd = read_fd
        self._masker = masker
        self._log_error: str | None = None  # why output could not be written to the log
        self._bytes_lost = 0
        self._timed_out = False
        self._canceled = False
        self._group_gone = False
        self._exited: asyncio.Future[None] = loop.create_future()
        self._outcome: AttemptResult | None = None  # set once, when the attempt is finalized
        self._waiters: list[asyncio.Future[AttemptResult]] = []
        self._eof: asyncio.Future[None] = loop.create_future()
        self._stopper: asyncio.Task[None] | None = None
        self._finisher: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._deadline: float | None = None
        if spec.timeout_sec is not None:
            self._timer = loop.call_later(spec.timeout_sec, self._on_timeout)
            self._deadline = started_at + spec.timeout_sec
        if read_fd is not None:
            os.set_blocking(read_fd, False)
            loop.add_reader(read_fd, self._on_output)
        exits.watch(pid, self._record_exit)

    async def wait(self) -> AttemptResult:
        """Waits for the result; the attempt runs to its end even if the caller stops waiting."""
        return await self._result()

    async def terminate(self, grace_sec: float) -> None:
        """TERMs the group, KILLs it after `grace_sec`, and returns once the attempt is finished."""
        if not self._exited.done():
            self._canceled = True
            self._start_stopper(grace_sec)
        await self._result()

    def kill(self) -> None:
        """KILLs the group now; a running `terminate` or timeout then completes at once."""
        if self._outcome is not None:
            return
        if not self._exited.done():
            self._canceled = True
        self._signal_group(signal.SIGKILL)

    @property
    def deadline(self) -> float | None:
        """When the timeout stops it (a `time.time()`); None without one, or once it is over."""
        return None if self._timed_out or self._exited.done() else self._deadline

    def extend_timeout(self, until: float) -> str | None:
        """Move the timeout to `until`, later than now; why not, if it cannot be moved.

        A timed-out attempt is being stopped already: it cannot be revived.
        """
        if self._timed_out:
            return "it already timed out"
        if self._exited.done() or self._canceled:
            return "it is no longer running"
        if self._timer is None or self._deadline is None:
            return "it has no timeout"
        if until <= self._deadline:
            return "that would not lengthen its timeout"
        self._timer.cancel()
        self._timer = self._loop.call_later(until - time.time(), self._on_timeout)
        self._deadline = until
        return None

    def _result(self) -> asyncio.Future[AttemptResult]:
        """A future of the result for one waiter: canceling it leaves the attempt and others alone.

        What `asyncio.shield` over one shared future would give, minus the extra loop iteration
        shield's callback costs: `_finalize` resolves these futures itself.
        """
        waiter: asyncio.Future[AttemptResult] = self._loop.create_future()
        if self._outcome is not None:
            waiter.set_result(self._outcome)
        else:
            self._waiters.append(waiter)
        return waiter

    # -- callbacks -------------------------------------------------------------------------------

    def _record_exit(self, status: int, usage: struct_rusage | None) -> None:
        """The exit watcher reaped the main process (`status` and `usage` as from `wait4`)."""
        KEEPER.untrack(self._pgid)
        self._finished_at = time.time()
        self._returncode = os.waitstatus_to_exitcode(status)
        self._usage = usage
        if self._timer is not None:
            self._timer.cancel()
        self._exited.set_result(None)
        if self._read_fd is None and self._stopper is None and self._all_gone():
            self._finalize()
        else:
            self._finisher = self._loop.create_task(self._finish())

    def _on_timeout(self) -> None:
        self._timed_out = True
        self._start_stopper(self._spec.kill_grace_sec)

    def _on_output(self) -> None:
        assert self._read_fd is not None and self._masker is not None
        try:
            data = os.read(self._read_fd, READ_CHUNK)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            self._write_log(self._masker.feed(data))
        else:
            self._close_pipe()

    # -- stopping --------------------------------------------------------------------------------

    def _start_stopper(self, grace_sec: float) -> None:
        if self._stopper is None:
            self._stopper = self._loop.create_task(self._stop_group(grace_sec))

    async def _stop_group(self, grace_sec: float) -> None:
        """TERMs the group, waits up to `grace_sec` for it to empty, KILLs what is left."""
        deadline = self._loop.time() + grace_sec
        self._signal_group(signal.SIGTERM)
        if not self._exited.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._exited), grace_sec)
        while not self._all_gone() and self._loop.time() < deadline:
            await asyncio.sleep(GROUP_POLL_SEC)
        if self._all_gone():
            return
        self._signal_group(signal.SIGKILL)
        await asyncio.shield(self._exited)
        settle = self._loop.time() + KILL_SETTLE_SEC
        while not self._all_gone() and self._loop.time() < settle:
            # Killing an adopted process hands its children to us in turn: kill those too.
            signal_all(KEEPER.leftovers(self._identity), signal.SIGKILL)
            await asyncio.sleep(GROUP_POLL_SEC)

    def _signal_group(self, sig: int) -> None:
        """Signals the group, descendants that left it, and the attempt's adopted processes.

        The tree is read before the group is signalled (a dead parent's children are no longer
        in it) and signalled after (the main process must die of `sig`, not of a child's end).
        """
        # A descendant that called setsid is out of the group but still in the tree.
        tree = descendants([self._pgid]) if not self._exited.done() else []
        try:
            self._signal_process_group(sig)
        finally:
            signal_all(tree, sig)
            signal_all(KEEPER.leftovers(self._identity), sig)

    def _signal_process_group(self, sig: int) -> None:
        if self._group_gone:
            return
        try:
            os.killpg(self._pgid, sig)
        except ProcessLookupError:
            if self._exited.done():
                self._group_gone = True
        except PermissionError:
            pass  # a member changed its uid (setuid binary); nothing more we may do

    def _all_gone(self) -> bool:
        """Whether the group is empty and no process the engine adopted from it is left."""
        return (
            self._group_empty()
            and not KEEPER.leftovers(self._identity)
            and not KEEPER.unsettled()  # an adopted process not attributed yet may be ours
        )

    def _group_empty(self) -> bool:
        """Whether no process is left in the group; only answerable once the main process is reaped.

        Until then the unreaped main process pins the group id. Afterwards the id stays allocated as
        long as any member lives, so the probe cannot hit another group short of a full pid wrap.
        """
        if self._group_gone:
            return True
        if not self._exited.done():
            return False
        try:
            os.killpg(self._pgid, 0)
        except ProcessLookupError:
            self._group_gone = True
        except PermissionError:
            return False
        else:
            if KEEPER.active:
                # Members orphaned by the main process are our children now: once the dead ones
                # are reaped, the probe answers without a /proc scan.
                KEEPER.reap_exited()
                try:
                    os.killpg(self._pgid, 0)
                except ProcessLookupError:
                    self._group_gone = True
                    return True
            # Killed orphans stay zombies until their reaper reaps them (a container's init may
            # take a second), and zombies still count for killpg: look for a member that is not.
            self._group_gone = not group_has_live_member(self._pgid)
        return self._group_gone

    # -- finishing -------------------------------------------------------------------------------

    async def _finish(self) -> None:
        try:
            if self._stopper is not None:
                await self._stopper
            elif not self._all_gone():
                await self._stop_group(min(LEFTOVER_GRACE_SEC, self._spec.kill_grace_sec))
            if self._read_fd is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(self._eof), DRAIN_TIMEOUT_SEC)
                self._drain_available()
        finally:
            # Even after an internal error the waiters get a result instead of hanging forever.
            self._close_pipe()
            self._finalize()

    def _drain_available(self) -> None:
        """Reads what an escaped writer already put into the pipe, without waiting for more."""
        for _ in range(64):  # bounded: a writer that never stops must not keep us here
            if self._read_fd is None:
                return
            try:
                data = os.read(self._read_fd, READ_CHUNK)
            except OSError:
                return
            if not data:
                return
            assert self._masker is not None
            self._write_log(self._masker.feed(data))

    def _close_pipe(self) -> None:
        if self._read_fd is not None:
            self._loop.remove_reader(self._read_fd)
            os.close(self._read_fd)
            self._read_fd = None
        if not self._eof.done():
            self._eof.set_result(None)

    def _write_log(self, data: bytes) -> None:
        if not data or self._log_fd is None:
            return
        if self._log_error is not None:
            # Disk full or similar: keep draining the pipe so the step is not blocked, and count
            # what is lost; one failed write could be followed by a lucky one, leaving a hole.
            self._bytes_lost += len(data)
            return
        lost, self._log_error = write_counted(self._log_fd, data)
        self._bytes_lost += lost

    def _finalize(self) -> None:
        tail = ""
        if self._log_fd is not None:
            if self._masker is not None:
                self._write_log(self._masker.flush())
            elif file_system_full(self._log_fd) and self._may_have_lost_output():
                # The child wrote the log itself: the write errors were its own, unseen here.
                self._log_error = os.strerror(errno.ENOSPC)
            if self._log_error is not None:
                self._mark_log_cut()
            tail = tail_of(self._log_fd, self._log_start)
            os.close(self._log_fd)
            self._log_fd = None
        returncode = self._returncode
        assert returncode is not None, "finalized before the process was reaped"
        lost = self._bytes_lost if self._masker is not None else None
        usage = self._usage
        result = AttemptResult(
            exit_code=returncode if returncode >= 0 else None,
            signal=-returncode if returncode < 0 else None,
            timed_out=self._timed_out,
            canceled=self._canceled,
            spawn_error=None,
            pid=self.pid,
            started_at=self._started_at,
            finished_at=self._finished_at,
            output_tail=tail,
            log_error=self._log_error,
            log_bytes_lost=lost if self._log_error is not None else None,
            cpu_user_ms=None if usage is None else round(usage.ru_utime * 1000),
            cpu_sys_ms=None if usage is None else round(usage.ru_stime * 1000),
            max_rss_kb=None if usage is None else ENGINE_PEAK.step_peak_kb(usage.ru_maxrss),
        )
        self._outcome = result
        for waiter in self._waiters:
            if not waiter.done():  # its waiter was canceled
                waiter.set_result(result)
        self._waiters.clear()

    def _may_have_lost_output(self) -> bool:
        """On a full disk, whether the log the child wrote may be cut: it has output, or it failed.

        A step whose writes fail usually fails; a silent step that succeeded has lost nothing.
        """
        assert self._log_fd is not None
        return self._returncode != 0 or os.fstat(self._log_fd).st_size > self._log_start

    def _mark_log_cut(self) -> None:
        """Say in the log where it was cut, if there is room for that by now (best effort)."""
        assert self._log_fd is not None
        lost = f"{plural(self._bytes_lost, 'byte')} of" if self._masker is not None else "some"
        note = f"\n[engine] {lost} output could not be written here: {self._log_error}\n"
        with contextlib.suppress(OSError):
            os.write(self._log_fd, note.encode())
