"""A step on a Dask worker behaves as a local one: exit codes, outputs, logs, timeouts."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import Engine
from tests.support import live_processes_with, wait_for

pytestmark = pytest.mark.dask


def test_exit_codes_outputs_and_logs_across_workers(engine: Engine, dask_address: str) -> None:
    steps = [
        {"id": "make", "command": "sh", "provides": ["X"],
         "args": ["-c", "echo made on $$; echo X=forty-two >> $ENGINE_OUTPUT"]},
        {"id": "use", "command": "sh", "depends_on": ["make"],
         "args": ["-c", "echo got ${steps.make.outputs.X}"]},
        {"id": "bad", "command": "sh", "args": ["-c", "echo oops; exit 3"],
         "on_failure": "continue"},
        {"id": "missing", "command": "no-such-command-here", "on_failure": "continue"},
    ]  # fmt: skip
    result = engine.run_plan(steps, "--executor", "dask", "--dask-address", dask_address)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    statuses = engine.statuses()
    assert statuses == {"make": "succeeded", "use": "succeeded", "bad": "failed",
                        "missing": "failed"}  # fmt: skip
    use = engine.attempts("use")[0]
    assert use.output_tail == "got forty-two\n"
    assert Path(use.log_path).read_text() == "got forty-two\n"
    bad = engine.attempts("bad")[0]
    assert (bad.exit_code, str(bad.error_code)) == (3, "exit_nonzero")
    missing = engine.attempts("missing")[0]
    assert str(missing.error_code) == "spawn_failed"
    assert "command not found: no-such-command-here" in (missing.message or "")


def test_a_20_mb_log_arrives_whole_and_in_order(engine: Engine, dask_address: str) -> None:
    lines = 200_000
    line = "f'{i:09d} ' + 'x' * 90 + '\\n'"
    script = f"import sys\nfor i in range({lines}): sys.stdout.write({line})"
    steps = [{"id": "loud", "command": sys.executable, "args": ["-c", script]}]
    result = engine.run_plan(steps, "--executor", "dask", "--dask-address", dask_address)
    assert result.returncode == 0, result.stderr
    log = Path(engine.attempts("loud")[0].log_path).read_bytes()
    assert len(log) == lines * 101  # 20.2 MB
    expected = b"".join(f"{i:09d} ".encode() + b"x" * 90 + b"\n" for i in range(lines))
    assert log == expected


def test_the_log_is_copied_while_the_step_runs(engine: Engine, dask_address: str) -> None:
    go = engine.tmp_path / "go"
    script = f"echo first line; while [ ! -e {go} ]; do sleep 0.05; done; echo done"
    steps = [{"id": "slow", "command": "sh", "args": ["-c", script]}]
    proc = engine.start("run", engine.plan(steps), "--executor", "dask",
                        "--dask-address", dask_address)  # fmt: skip
    log = engine.ledger_dir / "logs"

    def first_line_copied() -> bool:
        return any(p.read_text() == "first line\n" for p in log.rglob("slow*.log"))

    wait_for(first_line_copied, timeout=60)
    assert proc.poll() is None
    go.touch()
    _, stderr = proc.communicate(timeout=60)  # read to the end: no pipe left open
    assert proc.returncode == 0, stderr
    assert Path(engine.attempts("slow")[0].log_path).read_text() == "first line\ndone\n"


def test_a_timeout_kills_the_whole_group_on_the_worker(
    engine: Engine, dask_address: str, marker: str
) -> None:
    # A background grandchild and the main process both ignore TERM: only the KILL ends them.
    script = f"(trap '' TERM; sleep {marker}) & trap '' TERM; sleep {marker}"
    steps = [{"id": "stuck", "command": "sh", "args": ["-c", script], "timeout_sec": 1}]
    plan = engine.plan(steps, globals={"kill_grace_sec": 0.5})
    result = engine.run("run", plan, "--executor", "dask", "--dask-address", dask_address)
    assert result.returncode == 1, result.stderr
    attempt = engine.attempts("stuck")[0]
    assert str(attempt.error_code) == "timeout"
    assert attempt.signal == 9
    assert live_processes_with(marker) == []
