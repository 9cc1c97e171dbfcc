"""The attempt's log file: how it is opened, appended to, and how its tail is read back."""

from __future__ import annotations

import os

TAIL_BYTES = 4096
# Read-write, so the tail can be read through the same descriptor once the attempt ends.
LOG_FLAGS = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
_ROOT = os.geteuid() == 0


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def write_counted(fd: int, data: bytes) -> tuple[int, str | None]:
    """Append `data`; return how many bytes could not be written and why (None if all were)."""
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view) :]
    except OSError as error:
        return len(view), error.strerror or str(error)
    return 0, None


def file_system_full(fd: int) -> bool:
    """Whether the file system holding `fd` has no block left that this process may write.

    A child writing its log directly gets the write error, not the engine; a full file system
    once it has ended is the trace it leaves. Root may use the blocks reserved for it.
    """
    try:
        stats = os.fstatvfs(fd)
    except OSError:
        return False
    free = stats.f_bfree if _ROOT else stats.f_bavail
    return stats.f_blocks > 0 and free == 0


def read_tail(log_path: str, log_start: int) -> str:
    """The last TAIL_BYTES of what this attempt appended to the log, decoded leniently."""
    try:
        fd = os.open(log_path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return ""
    try:
        return tail_of(fd, log_start)
    finally:
        os.close(fd)


def tail_of(fd: int, log_start: int) -> str:
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
