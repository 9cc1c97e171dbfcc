"""Ledger writer throughput: events/s through LedgerWriter, against raw sqlite3 in the same run.

Each simulated step records what the scheduler records: step_ready, attempt_started,
attempt_finished and step_status (7 statements, 3 of them events), yielding to the event loop
between steps as a real scheduler does. Usage: python bench/bench_ledger.py [STEPS] [REPEATS]
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from engine.ledger.connection import connect_writable
from engine.ledger.owner import Owner
from engine.ledger.writer import LedgerWriter
from engine.states import AttemptStatus, EventType, RunStatus, StepStatus

EVENTS_PER_STEP = 3  # step_ready, step_started, step_succeeded


async def through_writer(path: Path, steps: int) -> tuple[float, int]:
    step_ids = [f"step{i}" for i in range(steps)]
    async with await LedgerWriter.open(path) as w:
        w.create_run(
            run_id="bench",
            plan_hash="h",
            plan_name="bench",
            plan_version=None,
            plan_json="{}",
            plan_path=None,
            vars={},
            step_ids=step_ids,
            hook_ids=[],
            owner=Owner.current(),
            resumed_from=None,
            created_at=time.time(),
        )
        await w.flush()
        began = time.perf_counter()
        for i, step_id in enumerate(step_ids):
            now = time.time()
            w.step_ready(run_id="bench", step_id=step_id, at=now)
            w.attempt_started(
                run_id="bench",
                step_id=step_id,
                attempt=1,
                at=now,
                pid=i,
                log_path=f".ledger/logs/bench/{step_id}.1.log",
                retry_reason=None,
                delay_sec=None,
            )
            await asyncio.sleep(0)  # the scheduler awaits the process between these
            w.attempt_finished(
                run_id="bench",
                step_id=step_id,
                attempt=1,
                at=time.time(),
                status=AttemptStatus.SUCCEEDED,
                error_code=None,
                exit_code=0,
                signal=None,
                output_tail="ok " * 60,
                message=None,
            )
            w.step_status(
                run_id="bench",
                step_id=step_id,
                status=StepStatus.SUCCEEDED,
                at=time.time(),
                event=EventType.STEP_SUCCEEDED,
                reason=None,
            )
            await asyncio.sleep(0)
        w.run_finished(
            run_id="bench", status=RunStatus.SUCCEEDED, at=time.time(), error=None, exit_code=0
        )
        await w.flush()
        elapsed = time.perf_counter() - began
        return elapsed, w.commits


def raw_ceiling(path: Path, rows: int) -> float:
    """Events inserted with sqlite3 executemany in one transaction: the ceiling for this schema."""
    conn = connect_writable(path)
    conn.execute("INSERT INTO plans VALUES ('h', 'b', NULL, '{}', '2026-01-01T00:00:00.000Z')")
    conn.execute(
        "INSERT INTO runs (id, plan_hash, plan_name, status, created_at, steps_total)"
        " VALUES ('bench', 'h', 'b', 'running', '2026-01-01T00:00:00.000Z', 0)"
    )
    data = '{"status":"succeeded","pid":1234,"log_path":".ledger/logs/bench/step1.1.log"}'
    params = [
        ("bench", f"step{i}", 1, "step_started", "2026-01-01T00:00:00.000Z", data)
        for i in range(rows)
    ]
    began = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO events (run_id, step_id, attempt, type, ts, data) VALUES (?, ?, ?, ?, ?, ?)",
        params,
    )
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - began
    conn.close()
    return rows / elapsed


def main() -> None:
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    sync = os.environ.get("LEDGER_SYNCHRONOUS", "NORMAL")
    rates, ceilings, commits = [], [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            elapsed, n_commits = asyncio.run(through_writer(Path(tmp) / "w.db", steps))
            rates.append(steps * EVENTS_PER_STEP / elapsed)
            commits.append(n_commits)
            ceilings.append(raw_ceiling(Path(tmp) / "raw.db", steps * EVENTS_PER_STEP))
    rate, ceiling = statistics.median(rates), statistics.median(ceilings)
    print(f"synchronous={sync}, {steps} steps x {repeats} runs")
    print(
        f"LedgerWriter: {rate:,.0f} events/s ({rate / EVENTS_PER_STEP:,.0f} steps/s,"
        f" 7 statements per step, median of {', '.join(f'{r:,.0f}' for r in rates)};"
        f" {statistics.median(commits):.0f} commits)"
    )
    print(f"raw sqlite3 executemany, one transaction (ceiling): {ceiling:,.0f} events/s")
    print(f"ratio writer/ceiling: {rate / ceiling:.2f}")


if __name__ == "__main__":
    main()
