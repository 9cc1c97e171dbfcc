"""docs/python.md's examples run, in order, as one program: the tour is true."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "python.md"
_BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def test_the_python_examples_run_in_order(tmp_path: Path) -> None:
    blocks = _BLOCK.findall(DOC.read_text(encoding="utf-8"))
    code = [body for tag, body in blocks if tag == "python"]
    assert len(code) >= 8
    for tag, body in blocks:
        if tag == "json":
            document = json.loads(body)
            (tmp_path / f"{document['name']}.json").write_text(body, encoding="utf-8")
    script = tmp_path / "tour.py"
    script.write_text("\n".join(code), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ENGINE_", "LEDGER_"))}
    done = subprocess.run(
        [sys.executable, "-W", "error::RuntimeWarning", str(script)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "hello Ada" in done.stdout
    assert "exit_nonzero compile error True" in done.stdout
    assert (tmp_path / ".ledger" / "framework.db").exists()
