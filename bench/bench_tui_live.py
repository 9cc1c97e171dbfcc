"""Dashboard cost while it works: a live run followed, view switches, memory, key latency.

Runs the real app headless (App.run_test) against a real `engine run` of a 40-step plan, and
measures process CPU time (every thread of the dashboard: UI and poll):

- following a live run: share of one core on the Runs view and on the Run detail while the
  engine runs the plan (the engine's own CPU, measured with psutil, is the baseline);
- a view switch (1 -> 3 -> 4 -> 2 ...): CPU per switch, once each screen exists;
- memory after 100 switches: traced Python memory (tracemalloc) before and after, after a
  garbage collection;
- key-to-frame: `down` on the Run detail's steps until the frame after it was painted;
- idle: nothing changing, on the Run detail of a finished run.

Targets: following <= 3% of a core, a switch <= 50 ms of CPU, memory flat (+-2 MB)
over 100 switches, idle <= 0.5%.
Usage: python bench/bench_tui_live.py [--steps N] [--only follow|switch]
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from ledger_tui.app import LedgerApp
from ledger_tui.screens.run_detail import RunDetailScreen

ENGINE = Path(sys.executable).parent / "engine"


def plan(path: Path, steps: int) -> Path:
    """`steps` steps, 4 at a time, each printing a line every 50 ms for about a second."""
    body = 'for i in $(seq 20); do echo "line $i"; sleep 0.05; done'
    document = {
        "name": "live40",
        "globals": {"max_concurrency": 4},
        "steps": [{"id": f"s{n:02d}", "command": "sh", "args": ["-c", body]} for n in range(steps)],
    }
    file = path / "live40.json"
    file.write_text(json.dumps(document), encoding="utf-8")
    return file


def start_engine(ledger: Path, plan_file: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(ENGINE), "run", str(plan_file), "-q", "--ledger", str(ledger)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "LEDGER_DB": ""},
    )


def children_cpu() -> float:
    """CPU seconds of the waited-for children so far (the engine and its steps)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def wait(condition: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.01)


async def follow(ledger: Path, plan_file: Path, detail: bool) -> tuple[float, float]:
    """(dashboard, engine) CPU shares of one core while a live run is followed."""
    app = LedgerApp(ledger)
    async with app.run_test(size=(120, 40)) as pilot:
        children0 = children_cpu()
        engine = start_engine(ledger, plan_file)
        await wait(lambda: bool(getattr(app.screen, "loaded", False)))
        if detail:
            await wait(lambda: app.ledger_watch.reader is not None)
            reader = app.ledger_watch.reader
            assert reader is not None
            await wait(lambda: bool(app.screen.query("LiveTable").first().row_count))
            await pilot.press("enter")
            await wait(lambda: isinstance(app.screen, RunDetailScreen) and app.screen.loaded)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        while engine.poll() is None:
            await asyncio.sleep(0.1)
        wall = time.perf_counter() - wall0
        share = (time.process_time() - cpu0) / wall
        await pilot.pause()
    return share, (children_cpu() - children0) / wall


async def switches(ledger: Path, count: int, trace: bool) -> tuple[float, float, float]:
    """(CPU ms per switch, traced MB before, after `count` switches); tracing memory (`trace`)
    makes every allocation slower, about doubling the CPU a switch costs."""
    if trace:
        tracemalloc.start()
    app = LedgerApp(ledger)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait(lambda: bool(getattr(app.screen, "loaded", False)))
        await pilot.press("enter")
        await wait(lambda: isinstance(app.screen, RunDetailScreen) and app.screen.loaded)
        keys = ("3", "4", "1", "2")
        for key in keys * 2:  # every screen exists once
            await pilot.press(key)
            await pilot.pause()
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        cpu0 = time.process_time()
        for n in range(count):
            await pilot.press(keys[n % len(keys)])
            await pilot.pause()
        cpu = time.process_time() - cpu0
        await pilot.pause(0.3)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
    return cpu * 1000 / count, before / 1e6, after / 1e6


async def key_to_frame(ledger: Path, samples: int) -> list[float]:
    app = LedgerApp(ledger)
    latencies: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await wait(lambda: bool(getattr(app.screen, "loaded", False)))
        await pilot.press("enter")
        await wait(lambda: isinstance(app.screen, RunDetailScreen) and app.screen.loaded)
        for n in range(samples):
            painted = asyncio.Event()
            start = time.perf_counter()
            await pilot.press("down" if n % 20 < 10 else "up")
            app.screen.call_after_refresh(painted.set)
            await painted.wait()
            latencies.append(time.perf_counter() - start)
    return latencies


async def idle(ledger: Path, seconds: float = 5.0) -> float:
    app = LedgerApp(ledger)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait(lambda: bool(getattr(app.screen, "loaded", False)))
        await pilot.press("enter")
        await wait(lambda: isinstance(app.screen, RunDetailScreen) and app.screen.loaded)
        await asyncio.sleep(1.0)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.sleep(seconds)
        return (time.process_time() - cpu0) / (time.perf_counter() - wall0)


def main() -> None:
    args = sys.argv[1:]
    steps = int(args[args.index("--steps") + 1]) if "--steps" in args else 40
    only = args[args.index("--only") + 1] if "--only" in args else None
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ledger = root / ".ledger" / "framework.db"
        ledger.parent.mkdir()
        plan_file = plan(root, steps)
        subprocess.run(
            [str(ENGINE), "run", str(plan(root, 1)), "-q", "--ledger", str(ledger)], check=True
        )  # a ledger with one finished run to start from
        for detail in (False, True) if only in (None, "follow") else ():
            share, engine = asyncio.run(follow(ledger, plan_file, detail))
            view = "Run detail" if detail else "Runs"
            print(
                f"following a live {steps}-step run, {view}: {share * 100:.1f}% of one core"
                f" (the engine with its steps: {engine * 100:.1f}%)"
            )
        if only not in (None, "switch"):
            return
        per_switch, _, _ = asyncio.run(switches(ledger, 100, trace=False))
        print(f"view switch: {per_switch:.1f} ms of CPU each (mean of 100)")
        traced, before, after = asyncio.run(switches(ledger, 100, trace=True))
        print(
            f"memory over 100 switches: {before:.1f} MB -> {after:.1f} MB traced"
            f" (a switch while tracing: {traced:.1f} ms of CPU)"
        )
        if only is not None:
            return
        latencies = sorted(asyncio.run(key_to_frame(ledger, 60)))
        p95 = latencies[int(0.95 * (len(latencies) - 1))]
        print(
            f"key-to-frame, Run detail down/up: median {statistics.median(latencies) * 1000:.1f}"
            f" ms, p95 {p95 * 1000:.1f} ms"
        )
        print(f"idle, Run detail of a finished run: {asyncio.run(idle(ledger)) * 100:.2f}%")


if __name__ == "__main__":
    main()
