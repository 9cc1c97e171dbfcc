"""A real, tiny file system for disk-full tests: a tmpfs mounted on a test's directory.

Mounting needs root (CAP_SYS_ADMIN), which CI and the development containers have; elsewhere the
tests that need it are skipped, saying why.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def small_disk(path: Path, *, size_kb: int, inodes: int | None = None) -> Iterator[Path]:
    """Mount a tmpfs of `size_kb` (and at most `inodes` files) on `path`; unmount it afterwards."""
    path.mkdir(parents=True, exist_ok=True)
    options = f"size={size_kb}k,mode=0755" + (f",nr_inodes={inodes}" if inodes else "")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill (needs root): {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        # Lazy: a process of a failed test may still hold a file open on it.
        subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


def fill(path: Path) -> None:
    """Fill the file system holding `path` to the last byte."""
    with contextlib.suppress(OSError), open(path / ".filler", "wb") as filler:
        while True:
            filler.write(b"\0" * 65536)
            filler.flush()
