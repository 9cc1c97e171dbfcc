"""The local executor: each attempt is a subprocess in its own session, watched through a pidfd.

Why it looks like this (per-step overhead must stay close to `make -j2`, see bench/bench_spawn.py):

- `subprocess.Popen` is called directly on the event loop thread by default (about 0.5 ms, cheaper
  than asyncio's subprocess transport; `spawn_threads` moves it to threads), and exit is learnt
  from `os.pidfd_open` + `loop.add_reader`, so no watcher thread and no SIGCHLD handler are
  involved; the process is reaped with `os.waitpid(pid, WNOHANG)`.
- Without secrets to mask, the log file's fd is handed to the child as stdout and stderr: the kernel
  writes the log, the engine never sees the output, and a step printing gigabytes costs nothing
  here. With secrets, the child writes into a pipe that is read in chunks, masked by `StreamMasker`
  and appended to the log.
- `start_new_session=True` makes the child lead its own process group, so timeout, cancel and kill
  signal the whole group (`os.killpg`): grandchildren and background jobs die with the step.
- When the main process exits while other processes of its group still run (`cmd &` left behind),
  they are TERMed, then KILLed after a short grace, before the result is returned. A step's
  background children never outlive it, as GitHub Actions kills a job's orphans at its end; a step
  that needs a lasting daemon must start it outside the engine.
- A process that leaves the group with `setsid` escapes all of this. Becoming a child subreaper
  (`PR_SET_CHILD_SUBREAPER`) would make such processes our children, but reaping them needs
  `waitpid(-1)`, which would steal the exit status of every other child of the engine (asyncio
  subprocesses, `subprocess.run`); the robust answer is a cgroup per attempt, left for later.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import os
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

from engine.executors.base import AttemptResult, LaunchSpec
from engine.executors.masking import StreamMasker

TAIL_BYTES = 4096
READ_CHUNK = 256 * 1024
PIPE_SIZE = 1024 * 1024
# Leftover background processes of a step that exited on its own get this long to stop after TERM.
LEFTOVER_GRACE_SEC = 1.0
# After the group is gone, an escaped process (setsid) may still hold the output pipe open.
DRAIN_TIMEOUT_SEC = 2.0
# After KILL the kernel needs a moment to tear processes down; a D-state process may take longer.
KILL_SETTLE_SEC = 5.0
GROUP_POLL_SEC = 0.01
# Read-write, so the tail can be read through the same descriptor once the attempt ends.
_LOG_FLAGS = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC


class LocalExecutor:
    """Runs attempts as local subprocesses; one instance serves a whole run (it caches log dirs)."""

    def __init__(self, *, spawn_threads: int = 0) -> None:
        """`spawn_threads > 0` moves log creation and fork/exec off the loop thread.

        Direct spawning (the default) is cheapest when the loop has nothing else to do; a spawner
        thread costs a thread hop per launch but frees the loop thread while a slow file system
        creates the log file, and lets two spawns overlap on two cores (bench/bench_spawn.py).
        """
        self._log_dirs: set[str] = set()
        # One /dev/null for every child's stdin; Popen(stdin=DEVNULL) opens one per spawn.
        self._devnull = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        self._spawn_threads = spawn_threads
        self._spawner: ThreadPoolExecutor | None = None

    async def launch(self, spec: LaunchSpec) -> LocalAttempt | FailedAttempt:
        """Starts the attempt; a spawn failure comes back as a handle whose result says so."""
        loop = asyncio.get_running_loop()
        if not self._spawn_threads:
            started = self._start(spec)
        else:
            if self._spawner is None:
                self._spawner = ThreadPoolExecutor(self._spawn_threads, "spawn")
            future = loop.run_in_executor(self._spawner, self._start, spec)
            try:
                started = await asyncio.shield(future)
            except asyncio.CancelledError:
                # fork/exec cannot be interrupted: let it finish and kill what it started, so that
                # nothing runs unwatched once the caller has seen the cancellation.
                try:
                    _kill_unwatched(await asyncio.shield(future))
                except asyncio.CancelledError:
                    future.add_done_callback(lambda done: _kill_unwatched(done.result()))
                raise
        if isinstance(started, AttemptResult):
            return FailedAttempt(started)
        return LocalAttempt(loop, spec, *started)

    def close(self) -> None:
        """Stops the spawner threads, if any, and closes /dev/null; running attempts go on."""
        if self._spawner is not None:
            self._spawner.shutdown(wait=False)
            self._spawner = None
        if self._devnull >= 0:
            os.close(self._devnull)
            self._devnull = -1

    def _start(self, spec: LaunchSpec) -> _Started | AttemptResult:
        """Opens the log and spawns the process: every blocking step of a launch, nothing async."""
        masker = StreamMasker(spec.mask_values)
        try:
            log_fd = self._open_log(os.fspath(spec.log_path))
        except OSError as exc:
            message = f"cannot open log file {spec.log_path}: {exc.strerror}"
            return _failed_result(message, time.time(), "")
        # The tail reports this attempt only, even when a log file is shared with earlier attempts.
        log_start = os.fstat(log_fd).st_size
        read_fd: int | None = None
        out_fd = log_fd
        if masker.active:
            read_fd, out_fd = os.pipe2(os.O_CLOEXEC)
            # A bigger pipe means fewer wake-ups per MB; the default 64 KB is kept if refused.
            with contextlib.suppress(OSError):
                fcntl.fcntl(out_fd, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
        started_at = time.time()
        try:
            if not spec.argv:
                raise ValueError("empty command")
            proc = subprocess.Popen(
                spec.argv,
                stdin=self._devnull,
                stdout=out_fd,
                stderr=out_fd,
                cwd=spec.cwd,
                env=spec.env,
                start_new_session=True,
                close_fds=True,
            )
        except (OSError, ValueError) as exc:
            if read_fd is not None:
                os.close(read_fd)
                os.close(out_fd)
            message = masker.mask_all(_spawn_error_sentence(spec, exc).encode()).decode()
            with contextlib.suppress(OSError):
                _write_all(log_fd, message.encode() + b"\n")
            os.close(log_fd)
            return _failed_result(
                message, started_at, _read_tail(os.fspath(spec.log_path), log_start)
            )
        if read_fd is None:
            # The child writes this log itself; the engine keeps the descriptor only to read the
            # tail when the attempt ends, without opening the file again.
            return _Started(proc, started_at, log_start, log_fd, None, None)
        os.close(out_fd)  # else the pipe would never reach EOF
        return _Started(proc, started_at, log_start, log_fd, read_fd, masker)

    def _open_log(self, log_path: str) -> int:
        log_dir = os.path.dirname(log_path)
        if log_dir not in self._log_dirs:
            os.makedirs(log_dir, exist_ok=True)
            self._log_dirs.add(log_dir)
        try:
            return os.open(log_path, _LOG_FLAGS, 0o644)
        except FileNotFoundError:  # the directory was removed since we cached it
            os.makedirs(log_dir, exist_ok=True)
            return os.open(log_path, _LOG_FLAGS, 0o644)


class _Started(NamedTuple):
    proc: subprocess.Popen[bytes]
    started_at: float
    log_start: int
    log_fd: int | None
    read_fd: int | None
    masker: StreamMasker | None


def _kill_unwatched(started: _Started | AttemptResult) -> None:
    """Kills and reaps a process whose launch was canceled before anyone could watch it."""
    if isinstance(started, _Started):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(started.proc.pid, signal.SIGKILL)
        started.proc.wait()
        for fd in (started.log_fd, started.read_fd):
            if fd is not None:
                os.close(fd)


class FailedAttempt:
    """The handle of an attempt that could not be started; its result is already known."""

    def __init__(self, result: AttemptResult) -> None:
        self.pid: int | None = None
        self._result = result

    async def wait(self) -> AttemptResult:
        """Returns the spawn failure."""
        return self._result

    async def terminate(self, grace_sec: float) -> None:
        """Nothing runs, so there is nothing to stop."""

    def kill(self) -> None:
        """Nothing runs, so there is nothing to kill."""


class LocalAttempt:
    """A running attempt: its process group, exit watch, timeout timer and (if masking) output pump.

    Completion is driven by loop callbacks, not by `wait()`: the common case (direct log, no
    leftovers) finishes inside the exit callback without creating a task.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        spec: LaunchSpec,
        proc: subprocess.Popen[bytes],
        started_at: float,
        log_start: int,
        log_fd: int | None,
        read_fd: int | None,
        masker: StreamMasker | None,
    ) -> None:
        self.pid: int | None = proc.pid
        self._loop = loop
        self._spec = spec
        self._proc = proc
        self._pgid = proc.pid  # start_new_session: the child leads its own group
        self._started_at = started_at
        self._finished_at = started_at
        self._log_start = log_start
        self._log_fd = log_fd
        self._read_fd = read_fd
        self._masker = masker
        self._log_writable = True
        self._timed_out = False
        self._canceled = False
        self._group_gone = False
        self._exited: asyncio.Future[None] = loop.create_future()
        self._done: asyncio.Future[AttemptResult] = loop.create_future()
        self._eof: asyncio.Future[None] = loop.create_future()
        self._stopper: asyncio.Task[None] | None = None
        self._finisher: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        if spec.timeout_sec is not None:
            self._timer = loop.call_later(spec.timeout_sec, self._on_timeout)
        if read_fd is not None:
            os.set_blocking(read_fd, False)
            loop.add_reader(read_fd, self._on_output)
        try:
            self._pidfd = os.pidfd_open(proc.pid)
        except OSError:
            # Out of fds (or no pidfd support): a blocking wait in a thread is slower but correct.
            self._pidfd = -1
            loop.run_in_executor(None, self._wait_blocking)
        else:
            loop.add_reader(self._pidfd, self._on_exit)

    async def wait(self) -> AttemptResult:
        """Waits for the result; the attempt runs to its end even if the caller stops waiting."""
        return await asyncio.shield(self._done)

    async def terminate(self, grace_sec: float) -> None:
        """TERMs the group, KILLs it after `grace_sec`, and returns once the attempt is finished."""
        if not self._exited.done():
            self._canceled = True
            self._start_stopper(grace_sec)
        await asyncio.shield(self._done)

    def kill(self) -> None:
        """KILLs the group now; a running `terminate` or timeout then completes at once."""
        if self._done.done():
            return
        if not self._exited.done():
            self._canceled = True
        self._signal_group(signal.SIGKILL)

    # -- callbacks -------------------------------------------------------------------------------

    def _on_exit(self) -> None:
        try:
            pid, status = os.waitpid(self._pgid, os.WNOHANG)
        except ChildProcessError:
            # Someone else reaped our child (a stray waitpid(-1)); its real status is lost.
            pid, status = self._pgid, 255 << 8
        if pid == 0:
            return  # spurious wake-up: the pidfd stays watched
        self._loop.remove_reader(self._pidfd)
        os.close(self._pidfd)
        self._record_exit(status)

    def _wait_blocking(self) -> None:
        _, status = os.waitpid(self._pgid, 0)
        self._loop.call_soon_threadsafe(self._record_exit, status)

    def _record_exit(self, status: int) -> None:
        self._finished_at = time.time()
        # Popen would otherwise warn that the process still runs and queue it for its own reaping.
        self._proc.returncode = os.waitstatus_to_exitcode(status)
        if self._timer is not None:
            self._timer.cancel()
        self._exited.set_result(None)
        if self._read_fd is None and self._stopper is None and self._group_empty():
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
        while not self._group_empty() and self._loop.time() < deadline:
            await asyncio.sleep(GROUP_POLL_SEC)
        if self._group_empty():
            return
        self._signal_group(signal.SIGKILL)
        await asyncio.shield(self._exited)
        settle = self._loop.time() + KILL_SETTLE_SEC
        while not self._group_empty() and self._loop.time() < settle:
            await asyncio.sleep(GROUP_POLL_SEC)

    def _signal_group(self, sig: int) -> None:
        if self._group_gone:
            return
        try:
            os.killpg(self._pgid, sig)
        except ProcessLookupError:
            if self._exited.done():
                self._group_gone = True
        except PermissionError:
            pass  # a member changed its uid (setuid binary); nothing more we may do

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
            # Killed orphans stay zombies until init reaps them (a container's init may take a
            # second), and zombies still count for killpg: look for a member that is not one.
            self._group_gone = not _group_has_live_member(self._pgid)
        return self._group_gone

    # -- finishing -------------------------------------------------------------------------------

    async def _finish(self) -> None:
        try:
            if self._stopper is not None:
                await self._stopper
            elif not self._group_empty():
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
        if not data or not self._log_writable or self._log_fd is None:
            return
        try:
            _write_all(self._log_fd, data)
        except OSError:
            # Disk full or similar: keep draining the pipe so the step is not blocked; drop output.
            self._log_writable = False

    def _finalize(self) -> None:
        tail = ""
        if self._log_fd is not None:
            if self._masker is not None:
                self._write_log(self._masker.flush())
            tail = _tail_of(self._log_fd, self._log_start)
            os.close(self._log_fd)
            self._log_fd = None
        returncode = self._proc.returncode
        assert returncode is not None, "finalized before the process was reaped"
        self._done.set_result(
            AttemptResult(
                exit_code=returncode if returncode >= 0 else None,
                signal=-returncode if returncode < 0 else None,
                timed_out=self._timed_out,
                canceled=self._canceled,
                spawn_error=None,
                pid=self.pid,
                started_at=self._started_at,
                finished_at=self._finished_at,
                output_tail=tail,
            )
        )


def _failed_result(message: str, started_at: float, tail: str) -> AttemptResult:
    return AttemptResult(
        exit_code=None,
        signal=None,
        timed_out=False,
        canceled=False,
        spawn_error=message,
        pid=None,
        started_at=started_at,
        finished_at=time.time(),
        output_tail=tail,
    )


def _spawn_error_sentence(spec: LaunchSpec, exc: OSError | ValueError) -> str:
    """One sentence a user can act on; the cwd is checked first because Popen reports both alike."""
    if isinstance(exc, ValueError):
        return f"cannot start the command: {exc}"
    command = spec.argv[0]
    cwd = spec.cwd
    if cwd is not None:
        if not os.path.exists(cwd):
            return f"working directory does not exist: {cwd}"
        if not os.path.isdir(cwd):
            return f"working directory is not a directory: {cwd}"
        if not os.access(cwd, os.X_OK):
            return f"permission denied: cannot enter working directory {cwd}"
    if exc.errno == errno.ENOENT:
        return f"command not found: {command}"
    if exc.errno == errno.EACCES:
        return f"permission denied: cannot execute {command}"
    if exc.errno == errno.ENOEXEC:
        return f"cannot execute {command}: not a binary and no #! line"
    return f"cannot start {command}: {exc.strerror or exc}"


def _group_has_live_member(pgid: int) -> bool:
    """Whether a process other than a zombie is in group `pgid`, from /proc (slow path only)."""
    with os.scandir("/proc") as entries:
        for entry in entries:
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as stat_file:
                    stat = stat_file.read()
            except OSError:
                continue  # exited while we looked
            # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
            fields = stat[stat.rfind(b")") + 2 :].split(b" ", 3)
            if len(fields) > 2 and int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
                return True
    return False


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_tail(log_path: str, log_start: int) -> str:
    """The last TAIL_BYTES of what this attempt appended to the log, decoded leniently."""
    try:
        fd = os.open(log_path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return ""
    try:
        return _tail_of(fd, log_start)
    finally:
        os.close(fd)


def _tail_of(fd: int, log_start: int) -> str:
    """The tail of the log open at `fd`; nothing is read when the attempt wrote nothing."""
    size = os.fstat(fd).st_size
    start = max(log_start, size - TAIL_BYTES)
    if size <= start:
        return ""
    data = os.pread(fd, size - start, start)
    if start > log_start:
        # Cut mid-file: drop a partial UTF-8 sequence rather than show a replacement character.
        skip = 0
        while skip < min(3, len(data)) and data[skip] & 0xC0 == 0x80:
            skip += 1
        data = data[skip:]
    return data.decode(errors="replace")
