"""Fixtures for the CLI tests: a ledger with a known history, written by the real writer."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.cli.cli_helpers import populate_history


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    path = tmp_path / ".ledger" / "framework.db"
    path.parent.mkdir(parents=True)
    return path


@pytest.fixture
def history(ledger: Path) -> Path:
    """The ledger with the runs described in cli_helpers.populate_history, relative to now."""
    asyncio.run(populate_history(ledger, time.time()))
    return ledger
