"""`engine doctor` names the platform and the mechanisms in force."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ENGINE = str(Path(sys.executable).with_name("engine"))


def _doctor(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "ENGINE_EXIT_WATCH"}
    return subprocess.run(
        [ENGINE, "doctor", *args], env={**environment, **env}, capture_output=True, text=True,
        timeout=30, check=False,
    )  # fmt: skip


def test_doctor_prints_the_mechanisms() -> None:
    result = _doctor()
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(":", 1) for line in result.stdout.splitlines())
    assert set(lines) == {"platform", "python", "sqlite", "exit watch", "process keeping"}
    assert lines["exit watch"].strip().startswith("epoll + pidfd")
    assert lines["platform"].strip().startswith("Linux")


def test_doctor_json_follows_the_forced_exit_watch() -> None:
    result = _doctor("--json", ENGINE_EXIT_WATCH="thread")
    assert result.returncode == 0, result.stderr
    facts = json.loads(result.stdout)
    assert facts["exit_watch"] == "thread"
    assert set(facts) == {"platform", "python", "sqlite", "exit_watch", "process_keeping"}
