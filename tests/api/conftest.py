"""The public Python API under test: real runs of real subprocesses into a ledger in tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The ledger file every run of the test uses; the working directory is tmp_path."""
    monkeypatch.delenv("LEDGER_DB", raising=False)
    monkeypatch.chdir(tmp_path)
    yield tmp_path / "ledger" / "framework.db"


def plan(*steps: dict[str, Any], name: str = "api", **top: Any) -> dict[str, Any]:
    """A plan document with these steps; shell steps unless a step says otherwise."""
    return {"name": name, **top, "steps": [{"shell": True, **step} for step in steps]}
