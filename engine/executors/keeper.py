"""Keeping every process a step starts with the step: the engine as child subreaper (Linux).

A step leads its own session and process group, so signals to the group reach its children. A
process that calls `setsid` (a daemonizing tool) leaves the group; once its parent exits it used
to be adopted by init and outlive the run. With `PR_SET_CHILD_SUBREAPER` the engine adopts it
instead: every orphan of a step becomes the engine's child, found in
`/proc/self/task/<pid>/children`, and attributed to its attempt by the identity in its
environment (`engine.processes.identity`). When an attempt ends, its adopted processes (and their
descendants) are killed with its group; when the run ends, every adopted process is.

Reaping adopted orphans must not steal a step's exit status from the exit watch, so the keeper
only ever reaps pids it does not know as step leaders (`waitpid(pid)`, never `waitpid(-1)`).

A process in the middle of `execve` shows an empty environment for a moment (the kernel has
swapped in the new address space but not yet copied the environment into it), and a freshly
adopted daemon is often exactly there (`setsid` execs `sh`, which execs the command). Such a
process is not written off as "no identity" at once: it is "unsettled" and read again on the next
look, for up to `UNSETTLED_SEC`; attempts ending meanwhile wait for it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import time
from typing import NamedTuple

from engine.processes.identity import AttemptIdentity, parse_environ

PR_SET_CHILD_SUBREAPER = 36
# A descendant tree deeper or wider than this is not walked further (a fork bomb must not hang us).
_MAX_TREE = 10_000
_READ = 65536
# How long an adopted process may show an empty environment before it counts as having none (an
# `env -i` daemon, killed only when the run ends). An exec's window lasts microseconds.
UNSETTLED_SEC = 2.0


class Mechanism(NamedTuple):
    name: str
    description: str


SUBREAPER = Mechanism(
    "subreaper",
    "each step leads its own process group; the engine is a child subreaper, so processes that "
    "leave the group (setsid) are adopted by it and killed when their step ends",
)
PROCESS_GROUP = Mechanism(
    "process-group",
    "each step leads its own process group; a process that calls setsid and outlives its "
    "parent escapes until crash recovery or never",
)


class Keeper:
    """This process's adopted orphans: which attempt each belongs to, killing and reaping them.

    One per process (the subreaper flag is process-wide): `KEEPER`. Until `enable` succeeds it
    adopts nothing and every query answers "nothing left".
    """

    def __init__(self) -> None:
        self.active = False
        self._children_fd = -1  # /proc/self/task/<pid>/children, kept open: pread costs ~2 µs
        self._leaders: set[int] = set()  # step processes the exit watch reaps: never ours to reap
        self._identities: dict[int, AttemptIdentity | None] = {}  # adopted pid -> its identity
        self._unsettled: dict[int, float] = {}  # adopted pid showing no environment -> since when
        self._spawning = 0  # spawns in flight on other threads: their pid is not tracked yet
        self._spawns = 0

    def enable(self) -> bool:
        """Makes this process a child subreaper, if the system allows; returns whether it is."""
        if self.active:
            return True
        if not sys.platform.startswith("linux"):
            return False
        # Adopted orphans go to the main thread (the first live one), whichever thread forked.
        try:
            fd = os.open(f"/proc/self/task/{os.getpid()}/children", os.O_RDONLY)
        except OSError:
            return False  # no /proc children list (CONFIG_PROC_CHILDREN)
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
                os.close(fd)
                return False
        except (OSError, AttributeError):
            os.close(fd)
            return False
        self._children_fd = fd
        self.active = True
        return True

    @property
    def mechanism(self) -> Mechanism:
        return SUBREAPER if self.active else PROCESS_GROUP

    # -- step leaders ----------------------------------------------------------------------------

    def spawning(self) -> None:
        """A spawn starts off the loop thread: hold reaping until `spawned` says it is tracked."""
        self._spawning += 1
        self._spawns += 1

    def spawned(self, pid: int | None) -> None:
        """The spawn announced by `spawning` is over (`pid` tracked, or None if it failed)."""
        self._spawning -= 1

    def track(self, pid: int) -> None:
        """`pid` is a step's main process: the exit watch reaps it, the keeper never does."""
        self._leaders.add(pid)

    def untrack(self, pid: int) -> None:
        self._leaders.discard(pid)

    # -- adopted processes -----------------------------------------------------------------------

    def leftovers(self, identity: AttemptIdentity | None) -> list[int]:
        """Live adopted processes of `identity` (None: all of them) and their descendants.

        The common case, nothing adopted, costs one read of /proc/self/task/<pid>/children.
        """
        if not self.active:
            return []
        adopted = self._adopted()
        if not adopted:
            return []
        identities = self._identities
        for pid in adopted:
            if pid not in identities:
                self._settle(pid)
        self._reap(adopted)
        roots = [
            pid
            for pid in adopted
            if pid in identities and (identity is None or identities[pid] == identity)
        ]
        return descendants(roots, include_roots=True) if roots else []

    def unsettled(self) -> bool:
        """Whether an adopted process could not be attributed yet (caught in the middle of exec)."""
        return bool(self._unsettled)

    def _settle(self, pid: int) -> None:
        """Attributes adopted `pid` from its environment, or notes that it shows none yet."""
        environ = _read_environ(pid)
        if environ:
            self._identities[pid] = AttemptIdentity.of(parse_environ(environ))
            self._unsettled.pop(pid, None)
            return
        now = time.monotonic()
        if now - self._unsettled.setdefault(pid, now) >= UNSETTLED_SEC:
            # A scrubbed environment (or a zombie, reaped next): nobody's, until the run ends.
            self._identities[pid] = None
            del self._unsettled[pid]

    def reap_exited(self) -> None:
        """Reaps the adopted processes that exited."""
        if self.active:
            self._reap(self._adopted())

    def _adopted(self) -> list[int]:
        """Children of this process that are not step leaders (reparented orphans)."""
        try:
            listed = os.pread(self._children_fd, _READ, 0)
            while len(listed) % _READ == 0 and listed:  # thousands of children: read on
                more = os.pread(self._children_fd, _READ, len(listed))
                if not more:
                    break
                listed += more
        except OSError:
            return []
        if not listed:
            return []
        leaders = self._leaders
        return [pid for pid in map(int, listed.split()) if pid not in leaders]

    def _reap(self, adopted: list[int]) -> None:
        """Reaps the adopted processes that exited (never a step leader the exit watch reaps)."""
        if self._spawning:
            return  # a new leader may be among them, not yet tracked
        spawns = self._spawns
        for pid in adopted:
            if self._spawning or self._spawns != spawns:
                return
            try:
                reaped, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                reaped = pid
            if reaped:
                self._identities.pop(pid, None)
                self._unsettled.pop(pid, None)


def _read_environ(pid: int) -> bytes:
    """`pid`'s environment block; empty for a zombie, mid-exec, a scrubbed environ or a gone pid."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as environ:
            return environ.read()
    except OSError:
        return b""


def children_of(pid: int) -> list[int]:
    """The children of every thread of `pid`, from /proc (empty where there is no such list)."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as children:
                found.extend(map(int, children.read().split()))
        except OSError:
            continue
    return found


def descendants(roots: list[int], *, include_roots: bool = False) -> list[int]:
    """Every descendant of `roots` (parents before children), walked through /proc."""
    seen: list[int] = list(roots) if include_roots else []
    queue = list(roots)
    while queue and len(seen) < _MAX_TREE:
        for child in children_of(queue.pop()):
            if child not in seen:
                seen.append(child)
                queue.append(child)
    return seen


def signal_all(pids: list[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


KEEPER = Keeper()


def keeping_mechanism() -> Mechanism:
    """The mechanism an `engine run` started now would use (probes without enabling it)."""
    if KEEPER.active:
        return SUBREAPER
    if not sys.platform.startswith("linux"):
        return PROCESS_GROUP
    try:
        with open(f"/proc/self/task/{os.getpid()}/children", "rb"):
            pass
        has_prctl = hasattr(ctypes.CDLL(None), "prctl")
    except OSError:
        return PROCESS_GROUP
    return SUBREAPER if has_prctl else PROCESS_GROUP
