"""A run's scratch dir (`$ENGINE_OUTPUT`'s home): private, under the ledger, gone with the run."""

from __future__ import annotations

import secrets
import signal
import stat
from pathlib import Path

from tests.e2e.conftest import Engine
from tests.small_disk import fill, small_disk
from tests.support import live_processes_with, wait_for


def _secret() -> str:
    return f"scr4tch-{secrets.token_hex(8)}"


def _files_containing(value: str, root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and value.encode() in p.read_bytes()]


def test_outputs_file_is_in_a_private_dir_under_the_ledger_removed_at_the_end(
    engine: Engine,
) -> None:
    secret = _secret()
    tmpdir = engine.tmp_path / "tmp"
    tmpdir.mkdir()
    seen = engine.tmp_path / "seen"
    script = (
        f'echo "TOKEN=$TOKEN" >> "$ENGINE_OUTPUT"; d=$(dirname "$ENGINE_OUTPUT");'
        f' echo "$d" > {seen}; stat -c %a "$d" "$d/.." >> {seen}'
    )
    result = engine.run_plan(
        [{"id": "s", "command": script, "shell": True, "secrets": ["TOKEN"]}],
        secrets=["TOKEN"],
        env={"TOKEN": secret, "TMPDIR": str(tmpdir)},
    )
    assert result.returncode == 0, result.stderr
    run_id = engine.last_run().id
    directory, mode, parent_mode = seen.read_text().split()
    assert Path(directory) == engine.ledger_dir / "scratch" / run_id
    assert (mode, parent_mode) == ("700", "700")
    assert not Path(directory).exists()
    assert stat.S_IMODE((engine.ledger_dir / "scratch").stat().st_mode) == 0o700
    assert list(tmpdir.iterdir()) == []
    assert _files_containing(secret, engine.ledger_dir) == []


def test_a_crashed_runs_scratch_is_removed_by_the_command_that_recovers_it(
    engine: Engine, marker: str
) -> None:
    secret = _secret()
    plan = engine.plan(
        [
            {
                "id": "holds",
                "command": f'echo "TOKEN=$TOKEN" >> "$ENGINE_OUTPUT"; sleep {marker}',
                "shell": True,
                "secrets": ["TOKEN"],
            }
        ],
        secrets=["TOKEN"],
    )
    proc = engine.start("run", plan, "--quiet", env={"TOKEN": secret})
    scratch = engine.ledger_dir / "scratch"
    written = wait_for(lambda: list(scratch.glob("*/holds.1")), timeout=30)
    wait_for(lambda: secret.encode() in written[0].read_bytes(), timeout=30)
    # Killing before the attempt row (with its pid) is committed would leave the step unfindable.
    wait_for(lambda: engine.runs() and engine.attempts("holds"), timeout=30)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)

    result = engine.run("runs")
    assert result.returncode == 0, result.stderr
    assert str(engine.last_run().status) == "crashed"
    assert list(scratch.iterdir()) == []
    assert _files_containing(secret, engine.ledger_dir) == []
    wait_for(lambda: not live_processes_with(marker), timeout=30)


def test_a_crashed_runs_scratch_goes_even_when_the_full_ledger_cannot_mark_it(
    engine: Engine, marker: str
) -> None:
    secret = _secret()
    plan = engine.plan(
        [
            {
                "id": "holds",
                "command": f'echo "TOKEN=$TOKEN" >> "$ENGINE_OUTPUT"; sleep {marker}',
                "shell": True,
                "secrets": ["TOKEN"],
            }
        ],
        secrets=["TOKEN"],
    )
    with small_disk(engine.ledger_dir, size_kb=1024):
        proc = engine.start("run", plan, "--quiet", env={"TOKEN": secret})
        scratch = engine.ledger_dir / "scratch"
        written = wait_for(lambda: list(scratch.glob("*/holds.1")), timeout=30)
        wait_for(lambda: secret.encode() in written[0].read_bytes(), timeout=30)
        wait_for(lambda: engine.runs() and engine.attempts("holds"), timeout=30)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        fill(engine.ledger_dir)

        result = engine.run("runs")
        assert "could not mark crashed runs" in result.stderr
        assert str(engine.last_run().status) == "running"  # the disk is full: marked later
        assert list(scratch.iterdir()) == []
        wait_for(lambda: not live_processes_with(marker), timeout=30)
