"""Paths that are not UTF-8: one clear sentence and the documented exit code, no traceback."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.e2e.conftest import ENGINE, Engine


def non_utf8_dir(parent: Path) -> Path:
    """A directory whose name is the byte 0xff, as Python names it (a surrogate escape)."""
    path = Path(os.fsdecode(os.fsencode(parent) + b"/bad\xff"))
    path.mkdir()
    return path


def test_a_ledger_under_a_non_utf8_directory_is_refused_before_the_run(engine: Engine) -> None:
    plan = engine.plan([{"id": "hello", "command": "echo", "args": ["hi"]}])
    ledger = non_utf8_dir(engine.tmp_path) / "l.db"
    result = engine.run("run", plan, "--ledger", ledger)
    assert result.returncode == 3
    assert result.stderr.splitlines() == [
        "engine: The ledger path " + str(engine.tmp_path) + "/bad\\xff/l.db is not UTF-8, and a"
        " run records the paths of its logs beside it as text; rename the directory (or file),"
        " or pass --ledger a path whose name is UTF-8."
    ]
    assert not ledger.exists()  # nothing ran, so nothing is left half-recorded
    assert "hi" not in result.stdout


def test_the_nearest_ledger_of_a_non_utf8_working_directory_is_refused(engine: Engine) -> None:
    plan = engine.plan([{"id": "hello", "command": "echo", "args": ["hi"]}])
    cwd = non_utf8_dir(engine.tmp_path)
    env = engine.env()
    del env["LEDGER_DB"]
    done = subprocess.run(
        [ENGINE, "run", str(plan)], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr and "UnicodeEncodeError" not in done.stderr
    assert done.stderr.startswith("engine: The ledger path ")
    assert "/bad\\xff/.ledger/framework.db is not UTF-8" in done.stderr
