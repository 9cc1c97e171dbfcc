"""The chaos suite: kill -9 storms, signal storms, closed pipes, escaping processes.

Every test here is marked `chaos`: the default `pytest` run leaves them out (the README's test
command stays fast) and `.ci/run` runs them on their own with `pytest -m chaos`. Each test asserts
the same four things after the storm: the ledger passes `PRAGMA integrity_check`, the run's final
status is right, no process of the run is alive, and no secret value is readable anywhere on disk.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.chaos)


def assert_ledger_intact(path: Path) -> None:
    """`PRAGMA integrity_check` says ok (read through a fresh connection, as sqlite3 would)."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        connection.close()


def files_containing(value: str, roots: Iterable[Path]) -> list[Path]:
    """Every regular file under `roots` whose bytes contain `value` (a secret must be in none)."""
    needle = value.encode()
    found = []
    for root in roots:
        for directory, _, names in os.walk(root):
            for name in names:
                path = Path(directory, name)
                try:
                    if path.is_file() and needle in path.read_bytes():
                        found.append(path)
                except OSError:
                    continue
    return found
