"""Dashboard latency on a big ledger: open-to-first-data and commit-to-screen (not a test).

Builds a ledger of 10,000 runs / 100,000 attempts / 1,000,000 events (20 runs active) in one
sqlite3 transaction with the real schema, then runs the real app headless (App.run_test) and
measures, against baselines taken in the same run:

- open-to-first-data: app constructed -> Runs view populated, vs. the reader's own first query;
- commit-to-screen: an event committed by another connection -> its row in the Events view,
  vs. the poll interval (the expected mean is about half of it);
- idle CPU: process CPU time while nothing changes, vs. the same app barely polling.

Usage: python bench/bench_tui.py [RUNS] [--keep PATH]
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from engine.ledger import schema
from engine.ledger.reader import LedgerReader
from engine.ledger.times import to_iso
from ledger_tui.app import LedgerApp
from ledger_tui.screens.events import EventsScreen
from ledger_tui.screens.runs import RunsScreen
from ledger_tui.watch import DEFAULT_POLL_INTERVAL, runs_overview
from ledger_tui.widgets.live_table import LiveTable

STEPS_PER_RUN = 10
EVENTS_PER_RUN = 100
ACTIVE_RUNS = 20
PLANS = ["release", "nightly", "etl", "backup", "deploy"]
EVENT_TYPES = ["step_ready", "step_started", "step_succeeded"]


def build(path: Path, runs: int) -> float:
    """Write the ledger; return seconds taken."""
    start = time.perf_counter()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    schema.migrate(conn, path)
    now = time.time()
    span = 30 * 86400.0
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO plans (hash, name, version, plan_json, created_at) VALUES (?, ?, '1', ?, ?)",
        [(f"h-{p}", p, json.dumps({"name": p}), to_iso(now - span)) for p in PLANS],
    )
    run_rows, step_rows, attempt_rows, event_rows = [], [], [], []
    for i in range(runs):
        run_id = f"r{i:012d}"
        plan = PLANS[i % len(PLANS)]
        created = now - span + span * i / runs
        active = i >= runs - ACTIVE_RUNS
        done = STEPS_PER_RUN // 2 if active else STEPS_PER_RUN
        status = "running" if active else ("failed" if i % 17 == 0 else "succeeded")
        duration = None if active else 1000 * STEPS_PER_RUN
        finished = None if active else to_iso(created + STEPS_PER_RUN)
        run_rows.append(
            (
                run_id,
                f"h-{plan}",
                plan,
                status,
                to_iso(created),
                to_iso(created),
                finished,
                duration,
                STEPS_PER_RUN,
            )
        )
        for s in range(STEPS_PER_RUN):
            started = created + s
            state = "succeeded" if s < done else ("running" if s == done else "pending")
            step_rows.append(
                (
                    run_id,
                    f"step{s}",
                    s,
                    state,
                    1 if s <= done else 0,
                    to_iso(started) if s <= done else None,
                    to_iso(started + 1) if s < done else None,
                    1000 if s < done else None,
                )
            )
            if s <= done:
                attempt_rows.append(
                    (
                        run_id,
                        f"step{s}",
                        1,
                        "succeeded" if s < done else "running",
                        to_iso(started),
                        to_iso(started + 1) if s < done else None,
                        1000 if s < done else None,
                    )
                )
        for e in range(EVENTS_PER_RUN):
            event_rows.append(
                (
                    run_id,
                    f"step{(e // 3) % STEPS_PER_RUN}",
                    1,
                    EVENT_TYPES[e % 3],
                    to_iso(created + e * 0.1),
                    '{"pid":1}',
                )
            )
    conn.executemany(
        "INSERT INTO runs (id, plan_hash, plan_name, status, created_at, started_at,"
        " finished_at, duration_ms, steps_total) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        run_rows,
    )
    conn.executemany(
        "INSERT INTO run_steps (run_id, step_id, position, status, attempts, started_at,"
        " finished_at, duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        step_rows,
    )
    conn.executemany(
        "INSERT INTO step_attempts (run_id, step_id, attempt, status, started_at, finished_at,"
        " duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
        attempt_rows,
    )
    conn.executemany(
        "INSERT INTO events (run_id, step_id, attempt, type, ts, data) VALUES (?, ?, ?, ?, ?, ?)",
        event_rows,
    )
    conn.execute("COMMIT")
    conn.close()
    return time.perf_counter() - start


def baseline_first_query(path: Path) -> float:
    """Seconds for the reader alone to open and answer the Runs view's first query."""
    start = time.perf_counter()
    with LedgerReader.open(path) as reader:
        runs_overview(reader, limit=100)
    return time.perf_counter() - start


async def open_to_first_data(path: Path) -> float:
    start = time.perf_counter()
    app = LedgerApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        while not (isinstance(app.screen, RunsScreen) and app.screen.loaded):
            await asyncio.sleep(0.001)
        elapsed = time.perf_counter() - start
        assert app.screen.query_one(LiveTable).row_count > 0
        await pilot.pause()
    return elapsed


async def idle_cpu(path: Path, poll_interval: float, seconds: float = 3.0) -> float:
    """Share of one core the app uses on the Events view while nothing changes."""
    app = LedgerApp(path, poll_interval=poll_interval)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("3")
        while not (isinstance(app.screen, EventsScreen) and app.screen.loaded):
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.5)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.sleep(seconds)
        return (time.process_time() - cpu0) / (time.perf_counter() - wall0)


async def commit_to_screen(path: Path, samples: int) -> list[float]:
    """Latencies of events committed by another connection."""
    app = LedgerApp(path)
    latencies: list[float] = []
    writer = sqlite3.connect(path, isolation_level=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("3")
        while not (isinstance(app.screen, EventsScreen) and app.screen.loaded):
            await asyncio.sleep(0.005)
        table = app.screen.query_one(LiveTable)
        for i in range(samples):
            await asyncio.sleep(0.05 + (i % 7) * 0.03)  # spread commits across the poll phase
            cursor = writer.execute(
                "INSERT INTO events (run_id, step_id, attempt, type, ts, data)"
                " VALUES ('r000000000000', NULL, NULL, 'step_ready', ?, NULL)",
                (to_iso(time.time()),),
            )
            committed = time.perf_counter()
            key = str(cursor.lastrowid)
            while key not in table.keys:
                await asyncio.sleep(0.002)
            latencies.append(time.perf_counter() - committed)
    writer.close()
    return latencies


def main() -> None:
    args = sys.argv[1:]
    runs = int(args[0]) if args and args[0].isdigit() else 10_000
    keep = args[args.index("--keep") + 1] if "--keep" in args else None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(keep) if keep else Path(tmp) / "framework.db"
        if not path.exists():
            seconds = build(path, runs)
            size = path.stat().st_size / 1e6
            print(
                f"built {runs:,} runs / {runs * STEPS_PER_RUN:,} attempts / "
                f"{runs * EVENTS_PER_RUN:,} events in {seconds:.1f} s ({size:.0f} MB)"
            )
        base = statistics.median(baseline_first_query(path) for _ in range(5))
        opens = [asyncio.run(open_to_first_data(path)) for _ in range(3)]
        print(f"reader alone, open + first Runs query: {base * 1000:.1f} ms (baseline)")
        print(
            f"open-to-first-data, Runs view: median {statistics.median(opens) * 1000:.0f} ms"
            f" (min {min(opens) * 1000:.0f}, max {max(opens) * 1000:.0f});"
            f" {statistics.median(opens) / base:.0f}x the bare query"
        )
        latencies = asyncio.run(commit_to_screen(path, 30))
        latencies.sort()
        p95 = latencies[int(0.95 * (len(latencies) - 1))]
        print(
            f"commit-to-screen, Events view: median {statistics.median(latencies) * 1000:.0f} ms,"
            f" p95 {p95 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms"
            f" (poll interval {DEFAULT_POLL_INTERVAL * 1000:.0f} ms)"
        )
        quiet = asyncio.run(idle_cpu(path, 60.0))
        idle = asyncio.run(idle_cpu(path, DEFAULT_POLL_INTERVAL))
        print(
            f"idle CPU, Events view: {idle * 100:.2f}% of one core polling every"
            f" {DEFAULT_POLL_INTERVAL * 1000:.0f} ms; {quiet * 100:.2f}% for Textual alone"
            " (polling once a minute)"
        )
        if keep is None and path.exists():
            os.unlink(path)


if __name__ == "__main__":
    main()
