"""A program that calls run_plan keeps its own children; only `engine run` adopts orphans."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

# In a process of its own: the subreaper flag, once set, stays for the life of the process.
_HOST = textwrap.dedent(
    """
    import ctypes, json, subprocess, sys
    import engine

    own = subprocess.Popen(["sleep", "30"])
    quick = subprocess.Popen(["sh", "-c", "exit 3"])
    plan = {"name": "host", "steps": [{"id": "a", "command": "sh", "args": ["-c", "sleep 0.2"]}]}
    result = engine.run_plan(plan, ledger=sys.argv[1])
    flag = ctypes.c_int(-1)
    ctypes.CDLL(None).prctl(37, ctypes.byref(flag), 0, 0, 0)  # PR_GET_CHILD_SUBREAPER
    alive = own.poll() is None
    own.kill()
    print(json.dumps({"status": str(result.status), "subreaper": flag.value,
                      "own_alive": alive, "quick": quick.wait()}))
    """
)


def test_run_plan_neither_adopts_nor_reaps_nor_kills_the_callers_children(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _HOST, str(tmp_path / "framework.db")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "status": "succeeded", "subreaper": 0, "own_alive": True, "quick": 3,
    }  # fmt: skip
