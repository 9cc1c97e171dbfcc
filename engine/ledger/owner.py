"""Who owns a run: enough to prove later, without being fooled by pid reuse, that it is gone."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

import psutil

_BOOT_ID_FILE = Path("/proc/sys/kernel/random/boot_id")
# psutil derives start times from clock ticks since boot: allow for rounding, not for reuse.
_START_TIME_TOLERANCE_SEC = 0.05


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
        pid = os.getpid()
        return cls(
            pid=pid,
            process_start_time=psutil.Process(pid).create_time(),
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
        try:
            started = float(psutil.Process(self.pid).create_time())
        except psutil.NoSuchProcess:
            return True
        except psutil.Error:
            return False
        return abs(started - self.process_start_time) > _START_TIME_TOLERANCE_SEC
