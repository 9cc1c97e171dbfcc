"""`engine logs RUN_ID STEP [--attempt N] [--follow]`: an attempt's log, whole or as it grows."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.cli.cli_helpers import FAILED, cli, engine, latest_run_id, start_engine, write_plan
from tests.support import wait_for


def _run(ledger: Path, tmp_path: Path) -> str:
    counter = tmp_path / "count"
    plan = write_plan(
        tmp_path,
        "talk",
        [
            {"id": "hello", "command": "sh", "args": ["-c", "echo hello; echo oops >&2"]},
            # Fails on its first attempt, succeeds on the second.
            {"id": "flaky", "command": "sh", "shell": False,
             "args": ["-c", f"echo try >> {counter}; echo attempt $(wc -l < {counter});"
                      f" test $(wc -l < {counter}) -ge 2"],
             "retry": {"max_attempts": 2, "delay_sec": 0}},
        ],
    )  # fmt: skip
    result = engine(ledger, "run", str(plan), "-q")
    assert result.code == 0, result.err
    run_id = latest_run_id(ledger)
    assert run_id is not None
    return run_id


def test_logs_prints_the_last_attempt_or_the_one_asked(ledger: Path, tmp_path: Path) -> None:
    run_id = _run(ledger, tmp_path)
    assert cli(ledger, "logs", run_id, "hello").out == "hello\noops\n"
    assert cli(ledger, "logs", run_id[:9], "flaky").out == "attempt 2\n"
    assert cli(ledger, "logs", run_id, "flaky", "--attempt", "1").out == "attempt 1\n"
    missing = cli(ledger, "logs", run_id, "flaky", "--attempt", "3")
    assert missing.code == 1 and "has no attempt 3" in missing.err
    assert cli(ledger, "logs", run_id, "nope").code == 2


def test_logs_json_shape(ledger: Path, tmp_path: Path) -> None:
    run_id = _run(ledger, tmp_path)
    document = cli(ledger, "logs", run_id, "hello", "--json").json()
    assert document["text"] == "hello\noops\n" and document["status"] == "succeeded"
    assert (document["run_id"], document["step_id"], document["attempt"]) == (run_id, "hello", 1)
    assert document["log_path"].endswith("hello.1.log")


def test_logs_fall_back_to_the_ledger_tail(ledger: Path, tmp_path: Path) -> None:
    run_id = _run(ledger, tmp_path)
    shutil.rmtree(ledger.parent / "logs" / run_id)
    result = cli(ledger, "logs", run_id, "hello")
    assert result.out == "hello\noops\n" and "tail kept in the ledger" in result.err


def test_logs_of_an_unknown_or_unstarted_step(history: Path) -> None:
    assert cli(history, "logs", FAILED, "nope").code == 2
    recorded_without_a_file = cli(history, "logs", FAILED, "build")
    assert recorded_without_a_file.code == 0 and recorded_without_a_file.out == "out\n"
    result = cli(history, "logs", FAILED, "ship")
    assert result.code == 1 and "has no attempts" in result.err


def test_follow_prints_until_the_attempt_finishes(ledger: Path, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    # Line 1, then the rest once the test has seen the follower print line 1 (bounded: 30 s).
    script = (
        f"echo line 1; for i in $(seq 600); do [ -e {gate} ] && break; sleep 0.05; done; "
        "for i in 2 3 4 5; do echo line $i; done"
    )
    plan = write_plan(tmp_path, "drip", [{"id": "drip", "command": script, "shell": True}])
    run = start_engine(ledger, "run", str(plan), "-q")
    run_id = wait_for(lambda: latest_run_id(ledger))
    follower = start_engine(ledger, "logs", run_id, "drip", "--follow", "--json")
    try:
        assert follower.stdout is not None
        first = follower.stdout.readline()  # the follower prints, or ends (then this is "")
        assert json.loads(first)["text"] == "line 1\n"  # streamed, before the attempt ended
        gate.touch()
        rest, err = follower.communicate(timeout=30)
        assert run.wait(timeout=30) == 0
    finally:
        gate.touch()
        for proc in (follower, run):
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    assert follower.returncode == 0, err
    chunks = [json.loads(line)["text"] for line in (first + rest).splitlines()]
    assert "".join(chunks) == "".join(f"line {i}\n" for i in range(1, 6))


def test_logs_prints_the_log_s_bytes_as_they_are(ledger: Path, tmp_path: Path) -> None:
    """Like `cat`: output that is not UTF-8 reaches the reader unchanged; `--json` decodes it."""
    import subprocess

    from tests.cli.cli_helpers import ENGINE, engine_env

    printed = b"\xff\xfe latin-1 caf\xe9\n"
    plan = write_plan(
        tmp_path, "bytes",
        [{"id": "raw", "command": "printf", "args": ["\\377\\376 latin-1 caf\\351\\n"]}],
    )  # fmt: skip
    assert engine(ledger, "run", str(plan), "-q").code == 0
    run_id = latest_run_id(ledger)
    assert run_id is not None
    for follow in ((), ("--follow",)):
        shown = subprocess.run(
            [*ENGINE, "logs", run_id, "raw", *follow], env=engine_env(ledger),
            capture_output=True, timeout=60, check=True,
        )  # fmt: skip
        assert shown.stdout == printed
    as_json = json.loads(cli(ledger, "logs", run_id, "raw", "--json").out)
    assert as_json["text"] == "\ufffd\ufffd latin-1 caf\ufffd\n"
