"""Plan test helpers: documents, the CLI as a real process (imported by tests as plan_helpers)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from engine.plan.problems import Problem

REPO = Path(__file__).resolve().parents[2]


def run_engine(
    *args: str, cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`engine ARGS` as a real process, the way a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "engine", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


def plan_doc(*steps: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"name": "test", "steps": list(steps) or [{"id": "a", "command": "true"}], **top}


def step(id: str, *depends_on: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": id,
        "command": "true",
        **({"depends_on": list(depends_on)} if depends_on else {}),
        **fields,
    }


def messages(problems: list[Problem]) -> list[str]:
    return [p.message for p in problems]
