"""Processes of a run never outlive it: kill -9 storms, and steps that try to escape."""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path

from tests.e2e.chaos.storm import Storm


def test_kill_9_storm_leaves_no_process_row_or_secret_behind(tmp_path: Path, marker: str) -> None:
    """20 engines SIGKILLed at random moments (in the spawn window too), each recovered."""
    secret = f"storm-secret-{secrets.token_hex(8)}"
    storm = Storm(tmp_path, marker, secret, seed=20261204)
    for _ in range(20):
        storm.kill_one()
    storm.check_secrets([tmp_path, *storm.outputs_dirs(Path(tempfile.gettempdir()))])
    assert not storm.failures, "\n".join(storm.notes)
    assert storm.kills == 20
    assert storm.kills_mid_step >= 5  # enough kills found steps running
