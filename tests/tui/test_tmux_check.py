"""The tmux-driven check (tests/tui/tmux_check.py) passes: the dashboard in a real terminal."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.tui.tmux_check import run_checks

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


def test_the_dashboard_in_tmux_against_a_live_engine(tmp_path: Path) -> None:
    assert run_checks(tmp_path) == []
