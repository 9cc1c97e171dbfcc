"""A run records each attempt's CPU time and peak memory; `engine show`, v_step_stats show them."""

from __future__ import annotations

import json
import sqlite3
import sys

import pytest

from tests.e2e.conftest import Engine

# 64 MiB touched and 0.3 s of CPU, timed by the child itself (a loaded machine only slows it).
HUNGRY = (
    "import time\n"
    "block = b'x' * (64 << 20)\n"
    "start = time.process_time()\n"
    "while time.process_time() - start < 0.3:\n"
    "    pass\n"
)


@pytest.mark.parametrize("watch", ["epoll", "thread"])
def test_each_attempt_records_its_cpu_time_and_peak_memory(engine: Engine, watch: str) -> None:
    steps = [
        {"id": "hungry", "command": sys.executable, "args": ["-c", HUNGRY]},
        {"id": "flaky", "command": '[ "$ENGINE_ATTEMPT" -ge 2 ]', "shell": True,
         "retry": {"max_attempts": 2, "delay_sec": 0}},
    ]  # fmt: skip
    result = engine.run_plan(steps, env={"ENGINE_EXIT_WATCH": watch})
    assert result.returncode == 0, result.stderr
    hungry = engine.attempts("hungry")[0]
    assert hungry.cpu_ms is not None and hungry.cpu_ms >= 300
    assert hungry.max_rss_kb is not None and hungry.max_rss_kb >= 64 * 1024
    # A shell's peak is smaller than the engine's memory it starts as a copy of, which Linux
    # counts toward its ru_maxrss: unknown (NULL), not the engine's 40 MB; its CPU time counts.
    flaky = engine.attempts("flaky")
    assert len(flaky) == 2 and all(a.cpu_ms is not None for a in flaky)
    assert [a.max_rss_kb for a in flaky] == [None, None]

    run_id = engine.last_run().id
    shown = engine.run("show", run_id)
    assert shown.returncode == 0, shown.stderr
    header = next(line for line in shown.stdout.splitlines() if line.startswith("STEP"))
    assert "CPU" in header and "MAX RSS" in header
    row = next(line for line in shown.stdout.splitlines() if line.startswith("hungry"))
    assert "M " in row + " "  # 64 MiB and more reads as e.g. `71.2M`

    document = json.loads(engine.run("show", run_id, "--json").stdout)
    attempt = next(a for a in document["attempts"] if a["step_id"] == "hungry")
    assert attempt["max_rss_kb"] == hungry.max_rss_kb
    assert attempt["cpu_user_ms"] == hungry.cpu_user_ms
    assert attempt["cpu_sys_ms"] == hungry.cpu_sys_ms

    with sqlite3.connect(engine.ledger_path) as conn:
        rss, cpu = conn.execute(
            "SELECT p95_max_rss_kb, p95_cpu_ms FROM v_step_stats WHERE step_id = 'hungry'"
        ).fetchone()
    assert (rss, cpu) == (hungry.max_rss_kb, hungry.cpu_ms)
    with sqlite3.connect(engine.ledger_path) as conn:
        rss, cpu = conn.execute(
            "SELECT p95_max_rss_kb, p95_cpu_ms FROM v_step_stats WHERE step_id = 'flaky'"
        ).fetchone()
    assert rss is None and cpu == max(a.cpu_ms or 0 for a in flaky)
