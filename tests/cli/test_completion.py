"""Shell completion: click's own scripts, and RUN_ID completed from the ledger's recent runs."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.cli.cli_helpers import ENGINE, FAILED, LIVE, SUCCEEDED, engine_env


def _complete(ledger: Path, words: str, shell: str = "bash") -> subprocess.CompletedProcess[str]:
    env = engine_env(ledger)
    env.update(
        _ENGINE_COMPLETE=f"{shell}_complete",
        COMP_WORDS=words,
        COMP_CWORD=str(len(words.split()) - (0 if words.endswith(" ") else 1)),
    )
    return subprocess.run(ENGINE, env=env, capture_output=True, text=True, timeout=60)


def test_bash_source_prints_the_completion_function(ledger: Path) -> None:
    env = engine_env(ledger)
    env["_ENGINE_COMPLETE"] = "bash_source"
    result = subprocess.run(ENGINE, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "_engine_completion()" in result.stdout


def test_run_ids_complete_from_the_ledger(history: Path) -> None:
    for command in ("show", "events", "logs", "cancel", "resume", "explain"):
        result = _complete(history, f"engine {command} 1")
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines() == [
            f"plain,{run_id}" for run_id in (LIVE, FAILED, SUCCEEDED)
        ], command
    assert _complete(history, "engine show 1F").stdout == f"plain,{FAILED}\n"
    assert _complete(history, "engine show ").stdout.count("plain,") == 5


def test_completion_fails_silently_without_a_ledger(tmp_path: Path) -> None:
    result = _complete(tmp_path / "nowhere" / "framework.db", "engine show 1")
    assert (result.returncode, result.stdout.strip(), result.stderr) == (0, "", "")
    assert "plain,show" in _complete(tmp_path / "x.db", "engine sh").stdout
