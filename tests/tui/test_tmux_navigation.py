"""The tmux-driven navigation check (tests/tui/tmux_navigation.py) passes in a real terminal."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.tui.tmux_navigation import run_navigation_checks

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


def test_views_a_run_a_cancel_and_quit_in_tmux(tmp_path: Path) -> None:
    assert run_navigation_checks(tmp_path) == []
