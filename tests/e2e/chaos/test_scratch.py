"""kill -9 while steps hold a secret in `$ENGINE_OUTPUT`: recovery leaves it nowhere on disk."""

from __future__ import annotations

import secrets
import signal
import tempfile
from pathlib import Path

from tests.e2e.chaos.conftest import assert_ledger_intact, files_containing
from tests.e2e.conftest import Engine
from tests.support import live_processes_with, wait_for

STEPS = 3


def test_kill_9_with_secrets_in_outputs_leaves_no_secret_on_disk(
    engine: Engine, marker: str
) -> None:
    secret = f"ch4os-{secrets.token_hex(12)}"
    tmpdir = engine.tmp_path / "tmp"  # the engine's temp dir: where scratch used to live
    tmpdir.mkdir()
    writes = (
        'echo "TOKEN=$TOKEN" >> "$ENGINE_OUTPUT"; printf "NOTE<<EOF\\n%s\\nEOF\\n" "$TOKEN"'
        ' >> "$ENGINE_OUTPUT"; echo "printed $TOKEN"; echo "$TOKEN" >&2'
    )
    plan = engine.plan(
        [
            {
                "id": f"s{i}",
                "command": f"{writes}; sleep {marker} & sleep {marker}",
                "shell": True,
                "secrets": ["TOKEN"],
                "provides": ["TOKEN", "NOTE"],
            }
            for i in range(STEPS)
        ],
        secrets=["TOKEN"],
        globals={"max_concurrency": STEPS},
    )
    proc = engine.start("run", plan, "--quiet", env={"TOKEN": secret, "TMPDIR": str(tmpdir)})
    scratch = engine.ledger_dir / "scratch"
    wait_for(lambda: len(files_containing(secret, [scratch])) == STEPS, timeout=30)
    wait_for(lambda: len(live_processes_with(marker)) >= 2 * STEPS, timeout=30)
    # Killing before the attempt rows (with their pids) are committed would hide the steps.
    wait_for(lambda: engine.runs() and len(engine.attempts()) == STEPS, timeout=30)
    run_id = engine.last_run().id
    assert (scratch / run_id).is_dir()
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)

    result = engine.run("runs")  # any command that opens the ledger recovers crashed runs
    assert result.returncode == 0, result.stderr
    assert str(engine.last_run().status) == "crashed"
    assert not (scratch / run_id).exists()
    wait_for(lambda: not live_processes_with(marker), timeout=10)
    system_tmp = sorted(Path(tempfile.gettempdir()).glob(f"engine-{run_id}-*"))
    roots = [engine.ledger_dir, tmpdir, *system_tmp]
    assert files_containing(secret, roots) == []
    assert system_tmp == []
    assert_ledger_intact(engine.ledger_path)
