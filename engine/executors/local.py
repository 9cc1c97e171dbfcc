"""The local executor: each attempt is a subprocess in its own session, its exit watched.

Why it looks like this (per-step overhead must stay close to `make -j2`, see bench/bench_run.py):

- The process is started on the event loop thread by `spawn` (engine/executors/spawn.py): the
  fork/exec primitive Popen uses, without Popen's ~50 µs of Python around it (`spawn_threads`
  moves it to threads). On Linux its exit is learnt from a pidfd in the run's epoll set, so no
  watcher thread, no SIGCHLD handler and no per-attempt asyncio reader are involved; the process
  is reaped with `os.wait4(pid, WNOHANG)`, whose rusage is the attempt's CPU time and memory.
  Elsewhere a thread waits for it (engine/executors/exits.py).
- Without secrets to mask, the log file's fd is handed to the child as stdout and stderr: the kernel
  writes the log, the engine never sees the output, and a step printing gigabytes costs nothing
  here. With secrets, the child writes into a pipe that is read in chunks, masked by `StreamMasker`
  and appended to the log.
- Each child leads its own session and process group (as with `start_new_session=True`), so
  timeout, cancel and kill signal the whole group (`os.killpg`): grandchildren and background jobs
  die with the step.
- When the main process exits while other processes of its group still run (`cmd &` left behind),
  they are TERMed, then KILLed after a short grace, before the result is returned. A step's
  background children never outlive it, as GitHub Actions kills a job's orphans at its end; a step
  that needs a lasting daemon must start it outside the engine.
- A process that leaves the group with `setsid` is still caught: while its parent lives, a stop
  walks the step's process tree; once its parent exits, `engine run` (a child subreaper) adopts
  it and kills it with its attempt (engine/executors/keeper.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

from engine.executors.attempt import LocalAttempt
from engine.executors.base import AttemptResult, LaunchSpec
from engine.executors.exits import ExitWatcher, choose_exit_watch, make_exit_watcher
from engine.executors.keeper import KEEPER, signal_all
from engine.executors.logfile import LOG_FLAGS, read_tail, write_all
from engine.executors.spawn import spawn
from engine.masking import StreamMasker

PIPE_SIZE = 1024 * 1024
ADOPTED_KILL_SEC = 5.0


class LocalExecutor:
    """Runs attempts as local subprocesses; one instance serves a whole run (it caches log dirs)."""

    def __init__(
        self, *, spawn_threads: int = 0, exit_watch: str | None = None, adopt_orphans: bool = False
    ) -> None:
        """`spawn_threads > 0` moves log creation and fork/exec off the loop thread.

        `exit_watch` ("epoll" or "thread") overrides `choose_exit_watch`'s choice; UserError if
        it names neither. `adopt_orphans` makes this process a child subreaper where Linux allows
        (engine/executors/keeper.py): only for a process whose children are all steps, since
        the keeper reaps every child it did not spawn as a step.

        Direct spawning (the default) is cheapest when the loop has nothing else to do; a spawner
        thread costs a thread hop per launch but frees the loop thread while a slow file system
        creates the log file, and lets two spawns overlap on two cores (bench/bench_spawn.py).
        """
        self._log_dirs: set[str] = set()
        # One /dev/null for every child's stdin; Popen(stdin=DEVNULL) opens one per spawn.
        self._devnull = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        self._spawn_threads = spawn_threads
        self._spawner: ThreadPoolExecutor | None = None
        self._exits: ExitWatcher | None = None
        self.exit_watch = choose_exit_watch(exit_watch)
        if adopt_orphans:
            KEEPER.enable()

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
        if self._exits is None:
            self._exits = make_exit_watcher(loop, self.exit_watch)
        return LocalAttempt(loop, self._exits, spec, *started)

    def close(self) -> None:
        """Stops the spawner threads, if any, and closes /dev/null; running attempts go on."""
        if self._spawner is not None:
            self._spawner.shutdown(wait=False)
            self._spawner = None
        if self._exits is not None:
            self._exits.close()
            self._exits = None
        _kill_adopted()
        if self._devnull >= 0:
            os.close(self._devnull)
            self._devnull = -1

    def _start(self, spec: LaunchSpec) -> _Started | AttemptResult:
        """Opens the log and spawns the process: every blocking step of a launch, nothing async."""
        masker = StreamMasker(spec.mask_values) if spec.mask_values else None
        try:
            log_fd = self._open_log(os.fspath(spec.log_path))
        except OSError as exc:
            message = f"cannot open log file {spec.log_path}: {exc.strerror}"
            return _failed_result(message, time.time(), "")
        # The tail reports this attempt only, even when a log file is shared with earlier attempts.
        log_start = os.fstat(log_fd).st_size
        read_fd: int | None = None
        out_fd = log_fd
        if masker is not None and masker.active:
            read_fd, out_fd = os.pipe()  # close-on-exec, as every descriptor Python creates
            # A bigger pipe means fewer wake-ups per MB; the default 64 KB is kept if refused.
            if hasattr(fcntl, "F_SETPIPE_SZ"):  # Linux only
                with contextlib.suppress(OSError):
                    fcntl.fcntl(out_fd, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
        started_at = time.time()
        elsewhere = self._spawn_threads > 0  # then the loop thread may look at our children now
        if elsewhere:
            KEEPER.spawning()
        try:
            if not spec.argv:
                raise ValueError("empty command")
            if spec.script is not None:
                _write_script(*spec.script)
            pid = spawn(
                spec.argv,
                cwd=spec.cwd,
                env=spec.env,
                stdin=self._devnull,
                stdout=out_fd,
                stderr=out_fd,
            )
        except (OSError, ValueError) as exc:
            if elsewhere:
                KEEPER.spawned(None)
            if read_fd is not None:
                os.close(read_fd)
                os.close(out_fd)
            # Not masked: it quotes only the plan's command and the engine's paths, which steps'
            # secrets never reach (argv cannot name a secret), and a path must stay a path.
            message = _spawn_error_sentence(spec, exc)
            with contextlib.suppress(OSError):
                write_all(log_fd, message.encode() + b"\n")
            os.close(log_fd)
            return _failed_result(
                message, started_at, read_tail(os.fspath(spec.log_path), log_start)
            )
        KEEPER.track(pid)
        if elsewhere:
            KEEPER.spawned(pid)
        if read_fd is None:
            # The child writes this log itself; the engine keeps the descriptor only to read the
            # tail when the attempt ends, without opening the file again.
            return _Started(pid, started_at, log_start, log_fd, None, None)
        os.close(out_fd)  # else the pipe would never reach EOF
        return _Started(pid, started_at, log_start, log_fd, read_fd, masker)

    def _open_log(self, log_path: str) -> int:
        log_dir = os.path.dirname(log_path)
        if log_dir not in self._log_dirs:
            os.makedirs(log_dir, exist_ok=True)
            self._log_dirs.add(log_dir)
        try:
            return os.open(log_path, LOG_FLAGS, 0o644)
        except FileNotFoundError:  # the directory was removed since we cached it
            os.makedirs(log_dir, exist_ok=True)
            return os.open(log_path, LOG_FLAGS, 0o644)


class _Started(NamedTuple):
    pid: int
    started_at: float
    log_start: int
    log_fd: int | None
    read_fd: int | None
    masker: StreamMasker | None


def _kill_adopted() -> None:
    """Kills what steps left behind that no attempt claimed (an environment rewritten on purpose).

    Every process the engine adopted descends from one of its steps, so at the end of a run none
    may stay. Killing one hands its children to the engine in turn, hence the loop (bounded).
    """
    deadline = time.monotonic() + ADOPTED_KILL_SEC
    while (left := KEEPER.leftovers(None)) and time.monotonic() < deadline:
        signal_all(left, signal.SIGKILL)
        time.sleep(0.01)


def _kill_unwatched(started: _Started | AttemptResult) -> None:
    """Kills and reaps a process whose launch was canceled before anyone could watch it."""
    if isinstance(started, _Started):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(started.pid, signal.SIGKILL)
        os.waitpid(started.pid, 0)
        KEEPER.untrack(started.pid)
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

    @property
    def deadline(self) -> float | None:
        return None

    def extend_timeout(self, until: float) -> str | None:
        """Nothing runs, so no timeout can be lengthened."""
        return "it never started"


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


class _ScriptNotWritten(ValueError):
    """The script file of a script step could not be written (a full disk, say)."""


def _write_script(path: str, text: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o700)
        try:
            write_all(fd, text.encode())
        finally:
            os.close(fd)
    except OSError as error:
        raise _ScriptNotWritten(
            f"cannot write the step's script file {path}: {error.strerror or error}"
        ) from None


def _spawn_error_sentence(spec: LaunchSpec, exc: OSError | ValueError) -> str:
    """One sentence a user can act on; the cwd is checked first because Popen reports both alike."""
    if isinstance(exc, _ScriptNotWritten):
        return str(exc)
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
    if exc.errno == errno.ENOENT and spec.script is not None:
        return f"interpreter not found: {command} (the step's shell runs its script with it)"
    if exc.errno == errno.ENOENT:
        return f"command not found: {command}"
    if exc.errno == errno.EACCES:
        return f"permission denied: cannot execute {command}"
    if exc.errno == errno.ENOEXEC:
        return f"cannot execute {command}: not a binary and no #! line"
    return f"cannot start {command}: {exc.strerror or exc}"
