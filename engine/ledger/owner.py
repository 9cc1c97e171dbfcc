"""Who owns a run: enough to prove later, without being fooled by pid reuse, that it is gone."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

_BOOT_ID_FILE = Path("/proc/sys/kernel/random/boot_id")
# psutil derives start times from clock ticks since boot: allow for rounding, not for reuse.
_START_TIME_TOLERANCE_SEC = 0.05


def _own_start_time() -> float:
    """This process's start time, computed as psutil's `Process.create_time()` computes it.

    Read from /proc by hand because importing psutil costs ~7 ms, and every `engine run` records
    its owner (a one-step run has a 150 ms budget: docs/architecture.md, "Startup"); psutil is used
    where a run's owner is checked (`Owner.is_gone`), which is rare. Elsewhere than Linux, psutil
    answers.
    """
    try:
        with open("/proc/self/stat", "rb") as stat_file:
            stat = stat_file.read()
        with open("/proc/stat", "rb") as system_stat:
            btime = next(line for line in system_stat if line.startswith(b"btime "))
    except (OSError, StopIteration):
        import psutil

        return float(psutil.Process().create_time())
    # "pid (comm) state ppid ...": field 22, starttime in clock ticks since boot, is the 20th
    # after the command name, which may itself hold spaces and parentheses.
    ticks = int(stat[stat.rfind(b")") + 2 :].split()[19])
    return int(btime.split()[1]) + ticks / os.sysconf("SC_CLK_TCK")


def _boot_id() -> str | None:
    try:
        return _BOOT_ID_FILE.read_text(encoding="ascii").strip() or None
    except OSError:
        return None


@dataclass(frozen=True)
class Owner:
    """The engine process that owns a run (the `owner_*` columns of `runs`)."""

    pid: int
    process_start_time: float
    host: str
    boot_id: str | None

    @classmethod
    def current(cls) -> Owner:
        """Describe this process."""
        return cls(
            pid=os.getpid(),
            process_start_time=_own_start_time(),
            host=socket.gethostname(),
            boot_id=_boot_id(),
        )

    def is_gone(self) -> bool:
        """Return True only when this owner provably no longer runs.

        An owner on another host cannot be checked, so it is never declared gone.
        """
        if self.host != socket.gethostname():
            return False
        boot_id = _boot_id()
        if self.boot_id is not None and boot_id is not None and self.boot_id != boot_id:
            return True  # the machine rebooted since
        import psutil

        try:
            started = float(psutil.Process(self.pid).create_time())
        except psutil.NoSuchProcess:
            return True
        except psutil.Error:
            return False
        return abs(started - self.process_start_time) > _START_TIME_TOLERANCE_SEC
