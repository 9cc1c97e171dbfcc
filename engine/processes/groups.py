"""Process groups seen from outside: whether a group still has a member that is not a zombie.

Killed orphans stay zombies until their reaper reaps them (a container's init may take a second),
and a zombie still answers `killpg(pgid, 0)`: this looks for a member that is alive.
"""

from __future__ import annotations

import os


def group_has_live_member(pgid: int) -> bool:
    """Whether a process other than a zombie is in group `pgid`, from /proc (slow path only)."""
    if not os.path.isdir("/proc/self"):
        return _group_has_live_member_psutil(pgid)
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


def _group_has_live_member_psutil(pgid: int) -> bool:
    """`group_has_live_member` where there is no /proc (macOS, BSD)."""
    import psutil

    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == pgid and process.status() != psutil.STATUS_ZOMBIE:
                return True
        except (psutil.Error, OSError):
            continue
    return False
