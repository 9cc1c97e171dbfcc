"""Query CLI speed on a big ledger: `engine runs/show/stats` as whole processes, and gc vs a writer.

Generates a ledger of 10,000 runs, 100,000 attempts and about 1,000,000 events (one transaction,
executemany, the real schema and the writer's own statements), then times each command as a
whole process (median of 5) against `engine --version` measured in the same run, and deletes
half the runs with `engine gc` while an engine-like writer commits, reporting its worst stall.
Usage: python bench/bench_queries.py [RUNS]
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from engine.ledger import statements as sql
from engine.ledger.connection import connect_writable
from engine.ledger.owner import Owner
from engine.ledger.times import to_iso
from engine.ledger.writer import LedgerWriter
from engine.states import EventType, RunStatus

STEPS_PER_RUN = 10
CHATTER_PER_STEP = 7  # step_retry events: a flaky step's share of the stream
DAYS = 60
ENGINE = [sys.executable, "-m", "engine"]


def generate(path: Path, runs: int) -> dict[str, int]:
    """Write `runs` finished runs spread over the last DAYS days; return row counts."""
    conn = connect_writable(path)
    now = time.time()
    ghost = Owner(pid=1, process_start_time=0.0, host="bench-host", boot_id=None)
    long_ago = to_iso(now - 90 * 86400)
    plans = [(f"hash{p}", f"plan{p}", "1", json.dumps({"name": f"plan{p}"}), long_ago)
             for p in range(5)]  # fmt: skip
    run_rows, started, finished_runs = [], [], []
    step_rows, attempt_rows, finished_attempts, finished_steps, events = [], [], [], [], []
    for n in range(runs):
        created = now - DAYS * 86400 * (1 - n / runs)
        run_id = f"{n:013d}"
        plan_hash, plan_name = plans[n % 5][0], plans[n % 5][1]
        status = RunStatus.FAILED if n % 10 == 0 else RunStatus.SUCCEEDED
        run_rows.append((run_id, plan_hash, plan_name, None, "{}", to_iso(created), STEPS_PER_RUN,
                         ghost.pid, ghost.process_start_time, ghost.host, None, None))  # fmt: skip
        started.append((to_iso(created), run_id))
        events.append((run_id, None, None, str(EventType.RUN_CREATED), to_iso(created), None))
        events.append((run_id, None, None, str(EventType.RUN_STARTED), to_iso(created), None))
        t = created
        for s in range(STEPS_PER_RUN):
            step_id = f"step{s}"
            failed = status is RunStatus.FAILED and s == STEPS_PER_RUN - 1
            end = t + 1 + (n * 7 + s) % 5
            step_rows.append((run_id, step_id, s, 0))
            attempt_rows.append((run_id, step_id, 1, to_iso(t), 1000 + s, None, None, None))
            done = "failed" if failed else "succeeded"
            code = "exit_nonzero" if failed else None
            finished_attempts.append((done, code, int(failed), None, to_iso(end), to_iso(end),
                                      "ok\n", None, run_id, step_id, 1))  # fmt: skip
            finished_steps.append((done, to_iso(end), to_iso(end), None, run_id, step_id))
            events.append((run_id, step_id, None, str(EventType.STEP_READY), to_iso(t), None))
            events.append((run_id, step_id, 1, str(EventType.STEP_STARTED), to_iso(t), '{"pid":1}'))
            for _ in range(CHATTER_PER_STEP):
                events.append((run_id, step_id, 1, str(EventType.STEP_RETRY),
                               to_iso(t), '{"delay_sec":1.0}'))  # fmt: skip
            kind = EventType.STEP_FAILED if failed else EventType.STEP_SUCCEEDED
            events.append((run_id, step_id, None, str(kind), to_iso(end), None))
            t = end
        finished_runs.append((str(status), to_iso(t), to_iso(t), None, int(failed), run_id))
        events.append((run_id, None, None, str(EventType.RUN_COMPLETED), to_iso(t), None))
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(sql.INSERT_PLAN, plans)
    conn.executemany(sql.INSERT_RUN, run_rows)
    conn.executemany(sql.RUN_STARTED, started)
    conn.executemany(sql.INSERT_RUN_STEP, step_rows)
    conn.executemany(sql.INSERT_ATTEMPT, attempt_rows)
    conn.executemany(sql.FINISH_ATTEMPT, finished_attempts)
    conn.executemany(sql.FINISH_STEP, finished_steps)
    conn.executemany(sql.FINISH_RUN, finished_runs)
    conn.executemany(sql.INSERT_EVENT, events)
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return {"runs": len(run_rows), "attempts": len(attempt_rows), "events": len(events)}


def time_command(path: Path, *args: str, repeats: int = 5) -> float:
    """Median wall time of `engine ARGS` as a whole process."""
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        subprocess.run([*ENGINE, *args, "--ledger", str(path)] if args[0] != "--version"
                       else [*ENGINE, *args], check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        times.append(time.perf_counter() - began)
    return statistics.median(times)


async def writer_stalls(path: Path, command: list[str] | None, seconds: float = 2.0) -> list[float]:
    """Commit one event at a time, as an engine does, while `command` runs (or for `seconds`)."""
    latencies: list[float] = []
    async with await LedgerWriter.open(path) as w:
        run_id = "zzzzzzzzzzzzz" if command else "zzzzzzzzzzzzy"
        w.create_run(
            run_id=run_id, plan_hash="hash0", plan_name="plan0", plan_version="1",
            plan_json="{}", plan_path=None, vars={}, step_ids=["s"], hook_ids=[],
            owner=Owner.current(), resumed_from=None, created_at=time.time(),
        )  # fmt: skip
        await w.flush()
        proc = None
        if command:
            proc = await asyncio.create_subprocess_exec(*command, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + seconds
        while (proc.returncode is None) if proc else (time.monotonic() < deadline):
            began = time.perf_counter()
            w.event(run_id=run_id, type=EventType.STEP_RETRY, at=time.time(), step_id="s")
            await w.flush()
            latencies.append(time.perf_counter() - began)
            await asyncio.sleep(0.005)
        if proc:
            assert await proc.wait() == 0
    return latencies


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "framework.db"
        began = time.perf_counter()
        counts = generate(path, runs)
        size_mb = path.stat().st_size / 1e6
        print(f"generated {counts} ({size_mb:.0f} MB) in {time.perf_counter() - began:.1f}s")
        baseline = time_command(path, "--version")
        print(f"{'engine --version (baseline)':<32} {baseline * 1000:7.0f} ms")
        middle = f"{runs // 2:013d}"
        for args in (("runs",), ("runs", "--status", "failed", "--since", "7d"),
                     ("show", middle), ("stats", "--since", "24h"), ("stats", "--since", "7d"),
                     ("events", middle)):  # fmt: skip
            took = time_command(path, *args)
            label = "engine " + " ".join(args)
            print(f"{label:<32} {took * 1000:7.0f} ms  ({took / baseline:.2f}x baseline)")
        quiet = asyncio.run(writer_stalls(path, None))
        gc = [*ENGINE, "gc", "--older-than", f"{DAYS // 2}d", "--ledger", str(path)]
        began = time.perf_counter()
        during = asyncio.run(writer_stalls(path, gc))
        gc_sec = time.perf_counter() - began
        print(f"engine gc --older-than {DAYS // 2}d: {gc_sec:.1f}s for half the ledger")
        ranked = sorted(during)
        p99 = ranked[min(len(ranked) - 1, int(0.99 * len(ranked)))]
        print(
            f"writer commit latency: max {max(quiet) * 1000:.1f} ms alone;"
            f" during gc max {ranked[-1] * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms,"
            f" median {statistics.median(ranked) * 1000:.1f} ms over {len(ranked)} commits"
        )
        print(f"ledger after gc: {os.path.getsize(path) / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
