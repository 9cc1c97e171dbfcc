"""An attempt's peak memory from wait4's rusage, kept only where it is the step's own.

Linux starts a process's peak (`ru_maxrss`) at the peak of the memory it was started from: exec
counts the engine's pages, which a fork or vfork child shares until then, toward the new
program's maximum. So a `true` started by a 40 MB engine reports 40 MB. A peak no larger than the
engine's own (its memory's high-water mark, VmHWM, which only grows) cannot be told from that copy
and is recorded as unknown; a larger one is the step's (the copy is at most the engine's peak).
"""

from __future__ import annotations

import resource
import sys

MAXRSS_PER_KB = 1024 if sys.platform == "darwin" else 1  # ru_maxrss: bytes on macOS, else KiB


def engine_peak_kb() -> int:
    """This process's memory high-water mark in KiB.

    VmHWM, not RUSAGE_SELF: the latter also holds what this process inherited at its own exec
    (a big parent such as a test runner), which its steps do not.
    """
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // MAXRSS_PER_KB


class EnginePeak:
    """The engine's peak, read again only when a step's peak passes the last reading."""

    def __init__(self) -> None:
        self.kb = 0

    def step_peak_kb(self, ru_maxrss: int) -> int | None:
        """The step's peak in KiB, or None when it may be the engine's copied memory."""
        kb = ru_maxrss // MAXRSS_PER_KB
        if kb > self.kb:  # the engine may have grown since: one read, not one per attempt
            self.kb = engine_peak_kb()
        return kb if kb > self.kb else None


ENGINE_PEAK = EnginePeak()
