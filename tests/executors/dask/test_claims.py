"""Which runs' claims the next engine forgets: those whose engine stopped stamping them."""

from __future__ import annotations

import pytest

pytest.importorskip("distributed")

from engine.executors.dask.claims import ALIVE, EXPIRE_SEC, stale


def test_a_run_is_stale_once_unstamped_for_the_expiry() -> None:
    now = 1_000_000.0
    assert not stale({ALIVE: now - 60, "pe-r-a-1": "tcp://w:1"}, now)
    assert stale({ALIVE: now - EXPIRE_SEC - 1, "pe-r-a-1": "tcp://w:1"}, now)
    assert stale({"pe-r-a-1": "tcp://w:1"}, now)  # never stamped: an engine before stamps
    assert not stale(None, now)  # already forgotten
