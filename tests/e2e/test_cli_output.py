"""What `engine run` prints and how it exits: JSON lines, plain lines, usage and ledger errors."""

from __future__ import annotations

import json
import os
import pty
import re
import resource
import signal
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tests.e2e.conftest import ENGINE, Engine
from tests.support import live_processes_with, wait_for

STEPS = [
    {"id": "a", "command": "true"},
    {"id": "b", "command": "sh", "args": ["-c", "exit 1"], "depends_on": ["a"]},
]
ESCAPE = "\x1b"


def test_json_prints_one_object_per_line(engine: Engine) -> None:
    result = engine.run_plan(STEPS, "--json")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    records = [json.loads(line) for line in lines]
    assert all(isinstance(record, dict) for record in records)
    run_id = engine.last_run().id
    assert {record["run_id"] for record in records} == {run_id}
    types = [record["type"] for record in records]
    assert types[:2] == ["run_created", "run_started"] and types[-1] == "run_completed"
    assert ("a", "step_succeeded") in {(r.get("step_id"), r["type"]) for r in records}
    assert ("b", "step_failed") in {(r.get("step_id"), r["type"]) for r in records}
    assert records[-1]["data"]["status"] == "failed"
    assert records[-1]["data"]["exit_code"] == 1


def test_output_to_a_pipe_is_plain_lines(engine: Engine) -> None:
    result = engine.run_plan(STEPS)
    assert result.returncode == 1
    assert ESCAPE not in result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines and all(re.match(r"^\[ *\d+\.\d\ds\] \S", line) for line in lines), lines
    assert any(line.endswith("b: failed: exit code 1") for line in lines)
    assert "failed" in lines[-1] and engine.last_run().id in lines[-1]


def _on_a_terminal(
    engine: Engine, *args: str | Path, env: Mapping[str, str], **popen: Any
) -> tuple[int, str]:
    """Run `engine ARGS...` with a pseudo-terminal as stdin, stdout and stderr; all it wrote."""
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [ENGINE, *map(str, args)],
        cwd=engine.tmp_path,
        env=engine.env(env),
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        **popen,
    )
    os.close(secondary)
    output = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # EIO once the child side is closed
            break
        if not chunk:
            break
        output += chunk
    os.close(primary)
    return proc.wait(timeout=30), output.decode(errors="replace")


def test_no_color_on_a_terminal_prints_no_colors(engine: Engine) -> None:
    path = engine.plan(STEPS)
    returncode, text = _on_a_terminal(
        engine, "run", path, env={"NO_COLOR": "1", "TERM": "xterm-256color"}
    )
    assert returncode == 1
    assert "failed" in text
    # Select Graphic Rendition codes that set a foreground or background colour.
    colours = re.findall(r"\x1b\[([0-9;]*)m", text)
    assert not [c for c in colours if re.search(r"(^|;)(3[0-9]|4[0-9]|9[0-7]|10[0-7])(;|$)", c)]


def test_an_invalid_plan_exits_2_with_one_clear_line_and_no_run(engine: Engine) -> None:
    result = engine.run_plan([{"id": "a", "command": "true", "depends_on": ["nowhere"]}])
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    problem = [line for line in result.stderr.splitlines() if "nowhere" in line]
    assert len(problem) == 1 and "unknown step" in problem[0]
    assert engine.runs() == []


def test_a_file_that_is_not_a_ledger_exits_3(engine: Engine) -> None:
    text_file = engine.tmp_path / "notes.txt"
    text_file.write_text("just some notes\n")
    path = engine.plan([{"id": "a", "command": "true"}])
    result = engine.run("run", path, env={"LEDGER_DB": str(text_file)})
    assert result.returncode == 3
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "not" in lines[0] and str(text_file) in lines[0]
    assert text_file.read_text() == "just some notes\n"


def _ledger_file_limit(engine: Engine) -> Callable[[], None]:
    """A file size limit that stands in for a full disk: the ledger's WAL cannot grow past it."""
    assert engine.run_plan([{"id": "x", "command": "true"}]).returncode == 0
    wal = engine.ledger_path.with_name(engine.ledger_path.name + "-wal")
    sizes = [engine.ledger_path.stat().st_size, wal.stat().st_size if wal.exists() else 0]
    limit = max(sizes) + 64 * 1024

    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # else the write kills the engine
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return limited


def test_a_ledger_that_cannot_be_written_mid_run_exits_3(engine: Engine, marker: str) -> None:
    limited = _ledger_file_limit(engine)
    steps = [{"id": "long", "command": "sleep", "args": [marker], "on_failure": "continue"}]
    steps += [{"id": f"s{i}", "command": "true"} for i in range(400)]
    path = engine.plan(steps, globals={"max_concurrency": 2, "kill_grace_sec": 0.2})
    proc = engine.start("run", path, preexec_fn=limited)
    wait_for(lambda: live_processes_with(marker) or proc.poll() is not None)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 3, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("engine: ") and str(engine.ledger_path) in lines[0]
    assert live_processes_with(marker) == []


def test_the_live_display_gives_the_terminal_back_when_the_ledger_fails(engine: Engine) -> None:
    limited = _ledger_file_limit(engine)
    steps = [{"id": f"s{i}", "command": "true"} for i in range(400)]
    path = engine.plan(steps, globals={"max_concurrency": 2})
    returncode, text = _on_a_terminal(
        engine, "run", path, env={"TERM": "xterm-256color"}, preexec_fn=limited
    )
    assert returncode == 3, text
    hidden = text.rfind("\x1b[?25l")  # the live display hides the cursor while it draws
    assert hidden != -1, text
    assert text.rfind("\x1b[?25h") > hidden  # and shows it again, though the run broke off
    last = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text).rstrip().splitlines()[-1]
    assert last.startswith("engine: ") and "ledger" in last


def test_a_failed_step_shows_its_last_lines_and_the_command_for_the_rest(engine: Engine) -> None:
    script = "for n in $(seq 1 12); do echo out $n; done; echo secret=$TOKEN; exit 2"
    steps = [{"id": "compile", "command": "sh", "args": ["-c", script], "secrets": ["TOKEN"]}]
    result = engine.run_plan(steps, env={"TOKEN": "hunter2"}, secrets=["TOKEN"])
    assert result.returncode == 1
    lines = [line.split("] ", 1)[1] for line in result.stdout.splitlines()]
    at = lines.index("compile: failed: exit code 2")
    run_id = engine.last_run().id
    tail = [*(f"  | out {n}" for n in range(4, 13)), "  | secret=***"]
    assert lines[at + 1 : at + 12] == [*tail, f"  full log: engine logs {run_id} compile"]
    assert "hunter2" not in result.stdout
    shown = engine.run("logs", run_id, "compile")
    assert shown.returncode == 0 and shown.stdout.splitlines()[0] == "out 1"


def test_the_live_display_counts_hooks_apart_and_shows_an_eta_from_history(
    engine: Engine,
) -> None:
    steps = [{"id": "a", "command": "true"}, {"id": "b", "command": "true", "depends_on": ["a"]}]
    path = engine.plan(steps, on_exit=[{"id": "tidy", "command": "true"}])
    env = {"TERM": "xterm-256color", "COLUMNS": "160"}
    returncode, first = _on_a_terminal(engine, "run", path, env=env)
    assert returncode == 0
    assert "2/2 steps · 1/1 hook" in first and "3/2" not in first
    assert "ETA" not in first  # no history yet
    returncode, second = _on_a_terminal(engine, "run", path, env=env)
    assert returncode == 0
    assert "ETA" in second, second
