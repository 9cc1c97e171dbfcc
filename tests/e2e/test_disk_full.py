"""Full disks: a log that cannot be written fails its step visibly; a full ledger exits 3 intact."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Engine
from tests.small_disk import small_disk

SECRET = "d1sk-full-S3cret-5521"
OUTPUT_BYTES = 1024 * 1024
PRINT_X = f"head -c {OUTPUT_BYTES} /dev/zero | tr '\\0' x; echo"


@pytest.fixture
def full_logs(engine: Engine) -> Iterator[Path]:
    """The ledger's logs dir on a 256 KB file system (the database itself has room)."""
    with small_disk(engine.ledger_dir / "logs", size_kb=256) as path:
        yield path


def _log_events(engine: Engine) -> list[dict[str, object]]:
    with sqlite3.connect(engine.ledger_path) as conn:
        rows = conn.execute(
            "SELECT data FROM events WHERE type = 'step_log_truncated' ORDER BY id"
        ).fetchall()
    return [json.loads(data) for (data,) in rows]


def test_with_a_secret_the_lost_output_fails_the_step_and_is_counted(
    engine: Engine, full_logs: Path
) -> None:
    result = engine.run_plan(
        [
            {
                "id": "big",
                "command": f'{PRINT_X}; echo "$TOKEN"',
                "shell": True,
                "secrets": ["TOKEN"],
            }
        ],
        secrets=["TOKEN"],
        env={"TOKEN": SECRET},
    )
    assert result.returncode == 1, result.stderr
    assert engine.statuses() == {"big": "failed"}
    (attempt,) = engine.attempts("big")
    assert str(attempt.error_code) == "log_write_failed"
    assert attempt.exit_code == 0  # the step itself succeeded; its log did not
    (event,) = _log_events(engine)
    assert event["error"] == "No space left on device"
    lost = event["bytes_lost"]
    assert isinstance(lost, int) and lost > OUTPUT_BYTES // 2
    assert f"{lost} bytes of output lost" in result.stdout
    assert "cannot write the log (No space left on device)" in result.stdout
    assert SECRET not in Path(attempt.log_path or "").read_text()
    explained = engine.run("explain", engine.last_run().id, "big")
    assert f"could not write its log (No space left on device): {lost} bytes" in explained.stdout


def test_without_a_secret_the_step_fails_with_the_same_code_not_a_bare_exit_code(
    engine: Engine, full_logs: Path
) -> None:
    result = engine.run_plan([{"id": "big", "command": PRINT_X, "shell": True}])
    assert result.returncode == 1, result.stderr
    (attempt,) = engine.attempts("big")
    assert str(attempt.error_code) == "log_write_failed"
    (event,) = _log_events(engine)
    assert event == {
        "error": "No space left on device",
        "bytes_lost": None,
        "log_path": attempt.log_path,
    }
    assert "cannot write the log (No space left on device): some output lost" in result.stdout


def test_a_full_ledger_disk_exits_3_with_one_sentence_and_keeps_what_was_committed(
    engine: Engine,
) -> None:
    # Only the database is on the small disk: logs and scratch point elsewhere.
    elsewhere = engine.tmp_path / "elsewhere"
    with small_disk(engine.ledger_dir, size_kb=400):
        for name in ("logs", "scratch"):
            (elsewhere / name).mkdir(parents=True)
            (engine.ledger_dir / name).symlink_to(elsewhere / name)
        first = engine.run_plan([{"id": "small", "command": "true"}])
        assert first.returncode == 0, first.stderr
        kept = engine.last_run()
        # Each step records ~4 KB of output and a 4 KB tail: far more than the disk holds.
        fill = 'head -c 3000 /dev/urandom | base64 -w0 | sed "s/^/V=/" >> "$ENGINE_OUTPUT"'
        result = engine.run_plan(
            [{"id": f"s{i}", "command": fill, "shell": True} for i in range(200)],
            globals={"max_concurrency": 2},
        )
        assert result.returncode == 3, result.stderr
        assert result.stderr.strip().count("\n") == 0, result.stderr
        assert "is full; free some space and retry." in result.stderr
        assert "Traceback" not in result.stderr
        with sqlite3.connect(f"file:{engine.ledger_path}?mode=ro", uri=True) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        run = next(r for r in engine.runs() if r.id == kept.id)
        assert (str(run.status), run.steps_done) == ("succeeded", 1)
