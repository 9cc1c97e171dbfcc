"""Resume a finished run from the dashboard: start `engine resume` as its own process (no Textual).

The dashboard stays a reader: the new run is the engine's, in its own session so it outlives
the dashboard like any `engine run` started from a shell, its output discarded (everything it
does is in the ledger, where the Runs view shows it).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def resume_argv(run_id: str, ledger_path: Path) -> list[str]:
    """The command that resumes `run_id` on this ledger."""
    return [sys.executable, "-m", "engine", "resume", run_id, "-q", "--ledger", str(ledger_path)]


def start_resume(run_id: str, ledger_path: Path) -> int:
    """Start `engine resume` detached; returns its pid (blocking briefly: call from a worker)."""
    process = subprocess.Popen(
        resume_argv(run_id, ledger_path),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    return process.pid
