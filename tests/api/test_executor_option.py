"""`executor=` and `dask_address=` of `engine.run_plan`, `arun_plan` and `start_plan`:
`engine run --executor dask [--dask-address ADDR]`."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import engine
from tests.api.conftest import plan

pytest.importorskip("distributed")

# Run as a script, as docs/python.md shows it: a LocalCluster's worker processes re-import the
# main module, which must therefore start nothing outside its `if __name__ == "__main__":`.
SCRIPT = """
import engine

def main():
    result = engine.run_plan(
        {{"name": "where", "steps": [{{"id": "where", "shell": True, "provides": ["PARENT"],
          "command": "echo PARENT=$(tr '\\\\0' ' ' < /proc/$PPID/cmdline) >> $ENGINE_OUTPUT"}}]}},
        ledger={ledger!r}, executor="dask",
    )
    print(result.status, result.outputs["where"]["PARENT"])

if __name__ == "__main__":
    main()
"""


def test_run_plan_with_executor_dask_runs_the_steps_on_a_cluster(tmp_path: Path) -> None:
    script = tmp_path / "on_dask.py"
    ledger = str(tmp_path / "ledger" / "framework.db")
    script.write_text(textwrap.dedent(SCRIPT.format(ledger=ledger)))
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    status, parent = done.stdout.split(" ", 1)
    assert status == "succeeded"
    # The step's parent is a Dask worker process, not the script.
    assert "on_dask.py" not in parent and "multiprocessing" in parent


def test_an_unknown_executor_or_an_address_without_dask_raises_before_any_run(
    ledger: Path,
) -> None:
    document = plan({"id": "a", "command": "true"})
    with pytest.raises(engine.EngineError, match="unknown executor 'ray'"):
        engine.run_plan(document, executor="ray")
    with pytest.raises(engine.EngineError, match="--dask-address needs the Dask executor"):
        engine.run_plan(document, executor="local", dask_address="tcp://127.0.0.1:9")
    assert not ledger.exists() or engine.Ledger(ledger).runs() == []
