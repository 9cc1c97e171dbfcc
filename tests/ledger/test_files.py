"""Whatever file sits where the ledger should be, every command says the same one sentence.

Real processes on real files: another application's database, 50 stray bytes, a FIFO, a
`.ledger` that is a file, a directory that cannot exist, and a ledger on a read-only mount.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from engine.ledger.connection import connect_writable

ENGINE = [sys.executable, "-m", "engine"]
DASHBOARD = [sys.executable, "-m", "ledger_tui.cli"]
PLAN = '{"name": "hello", "steps": [{"id": "hi", "command": "echo", "args": ["hi"]}]}'


def _run(
    argv: list[str], cwd: Path, ledger: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "LEDGER_DB"}
    if ledger is not None:
        env["LEDGER_DB"] = str(ledger)
    result = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


@pytest.fixture
def plan(tmp_path: Path) -> Path:
    path = tmp_path / "plan.json"
    path.write_text(PLAN)
    return path


def _every_command(tmp_path: Path, ledger: Path, plan: Path) -> dict[str, tuple[int, str]]:
    """Exit code and stderr of each kind of command on `ledger`."""
    commands = {
        "runs": [*ENGINE, "runs"],
        "show": [*ENGINE, "show", "1abc"],
        "stats": [*ENGINE, "stats"],
        "gc": [*ENGINE, "gc", "--older-than", "1d"],
        "run": [*ENGINE, "run", str(plan)],
        "dashboard": [*DASHBOARD, "status"],
    }
    results = {}
    for name, argv in commands.items():
        result = _run(argv, tmp_path, ledger)
        results[name] = (result.returncode, result.stderr.split(": ", 1)[-1])
    return results


def _other_application(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (x)")
    conn.commit()
    conn.close()


def test_another_applications_database_is_one_sentence_everywhere(
    tmp_path: Path, plan: Path
) -> None:
    ledger = tmp_path / "notes.db"
    _other_application(ledger)
    sentence = f"{ledger} is an SQLite database but not a ledger.\n"
    results = _every_command(tmp_path, ledger, plan)
    assert results == dict.fromkeys(results, (3, sentence))


def test_fifty_stray_bytes_are_one_sentence_everywhere(tmp_path: Path, plan: Path) -> None:
    ledger = tmp_path / "stray.db"
    ledger.write_bytes(b"SQLite format 3\x00" + b"x" * 34)
    sentence = f"{ledger} is not an SQLite database, so it cannot be a ledger.\n"
    results = _every_command(tmp_path, ledger, plan)
    assert results == dict.fromkeys(results, (3, sentence))


def test_a_fifo_as_the_ledger_is_refused_at_once(tmp_path: Path, plan: Path) -> None:
    ledger = tmp_path / "framework.db"
    os.mkfifo(ledger)
    sentence = f"{ledger} is a FIFO (named pipe), not a ledger file.\n"
    results = _every_command(tmp_path, ledger, plan)
    assert results == dict.fromkeys(results, (3, sentence))


def test_a_ledger_that_is_a_regular_file(tmp_path: Path, plan: Path) -> None:
    (tmp_path / ".ledger").write_text("not a directory\n")
    where = tmp_path / ".ledger"
    sentence = f"{where} exists but is not a directory; move it away or pass --ledger PATH.\n"
    for argv in ([*ENGINE, "runs"], [*ENGINE, "run", str(plan)], [*DASHBOARD, "status"]):
        result = _run(argv, tmp_path)
        assert (result.returncode, result.stderr.split(": ", 1)[1]) == (3, sentence)


def test_a_ledger_directory_that_cannot_be_created(tmp_path: Path, plan: Path) -> None:
    result = _run([*ENGINE, "run", str(plan), "--ledger", "/proc/nope/framework.db"], tmp_path)
    assert result.returncode == 3
    assert result.stderr == (
        "engine: Cannot create the ledger directory /proc/nope: No such file or directory.\n"
    )


def _read_only_mount(directory: Path, argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Run `argv` with `directory` bind-mounted read-only over itself, in a mount namespace.

    Tests run as root, which ignores file modes; a read-only mount stops even root from writing.
    """
    script = 'mount --bind -o ro "$0" "$0" && exec "$@"'
    return _run(["unshare", "--mount", "sh", "-c", script, str(directory), *argv], directory)


@pytest.fixture
def read_only_ledger(tmp_path: Path, plan: Path) -> Path:
    directory = tmp_path / "shared"
    directory.mkdir()
    ledger = directory / "framework.db"
    setup = _run([*ENGINE, "run", str(plan), "-q"], tmp_path, ledger)
    assert setup.returncode == 0, setup.stderr
    connect_writable(ledger).close()  # the last connection checkpoints and removes -wal, -shm
    assert not [p for p in directory.iterdir() if p.name.endswith(("-wal", "-shm"))]
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare(1) to mount a directory read-only")
    probe = _read_only_mount(directory, ["touch", str(directory / "probe")])
    if "Read-only file system" not in probe.stderr:
        pytest.skip(f"cannot make a read-only bind mount here: {probe.stderr.strip()}")
    return ledger


def test_a_read_only_ledger_is_read_and_only_writers_fail(
    read_only_ledger: Path, plan: Path
) -> None:
    ledger = read_only_ledger
    runs = _read_only_mount(ledger.parent, [*ENGINE, "runs", "--json", "--ledger", str(ledger)])
    assert runs.returncode == 0, runs.stderr
    assert '"plan_name": "hello"' in runs.stdout
    status = _read_only_mount(ledger.parent, [*DASHBOARD, "--ledger", str(ledger), "status"])
    assert status.returncode == 0 and "hello" in status.stdout, status.stderr
    sentence = (
        f"The ledger {ledger} can be read but not written by this user (the file or its "
        "directory is read-only); reading commands work, this one needs write access.\n"
    )
    for argv in (["run", str(plan)], ["gc", "--older-than", "0s", "--yes"]):
        writer = _read_only_mount(ledger.parent, [*ENGINE, *argv, "--ledger", str(ledger)])
        assert (writer.returncode, writer.stderr) == (3, f"engine: {sentence}")
