"""Benchmark the Dask executor against the local one, and against plain Dask's own round trip.

Every step execs /bin/true. In one run, on one cluster (a LocalCluster of 2 worker processes with 1
thread each, started here, like a small real cluster reached by address):

- `engine run` of 1 and of 1,000 independent steps, local and `--executor dask --dask-address`, at
  concurrency 2 (the workers' 2 threads); per step = (median 1,000-step wall - median 1-step wall)
  / 999, which takes start-up (and, for Dask, the import and connection) out;
- the same 1,000 steps on Dask at concurrency 16: throughput with 16 in flight;
- plain Dask, no engine: 1,000 no-op tasks (a function returning its argument) submitted from a
  client with 2 and with 16 in flight, and 1,000 `subprocess.run(["/bin/true"])` tasks with 2 in
  flight: the round trip any Dask executor pays per task, the floor for the engine's figure. The
  client runs in a process of its own, as the engine does (one sharing the scheduler's process
  competes with it for the GIL, and is slower).

The target: the Dask executor's cost per step at most plain Dask's round trip for a no-op + 20%.
Rounds are interleaved (each round runs every variant once), as the machine is shared and noisy.

    python bench/bench_dask.py            # 3 rounds (about 5 minutes on a loaded 2-core machine)
    python bench/bench_dask.py --runs 1 --steps 200   # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

WORKERS = 2
THREADS = 1


def write_plan(path: Path, steps: int, concurrency: int) -> None:
    plan = {
        "name": f"bench-dask-{steps}",
        "globals": {"max_concurrency": concurrency},
        "steps": [{"id": f"s{i}", "command": "/bin/true"} for i in range(steps)],
    }
    path.write_text(json.dumps(plan))


def timed(argv: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - start


def noop(value: int) -> int:
    return value


def true_process(value: int) -> int:
    subprocess.run(["/bin/true"], check=True)
    return value


def raw_dask(client: Any, function: Callable[[int], int], tasks: int, in_flight: int) -> float:
    """Seconds for `tasks` tasks with at most `in_flight` submitted at once, as the engine does."""
    from distributed import as_completed

    start = time.perf_counter()
    submitted = 0
    window = as_completed()
    while submitted < min(in_flight, tasks):
        window.add(client.submit(function, submitted, pure=False))
        submitted += 1
    for future in window:
        future.result()
        future.release()
        if submitted < tasks:
            window.add(client.submit(function, submitted, pure=False))
            submitted += 1
    return time.perf_counter() - start


RAW_TASKS: dict[str, Callable[[int], int]] = {"noop": noop, "true": true_process}


def raw_client(address: str, task: str, tasks: int, in_flight: int) -> float:
    """`raw_dask` from a client process of its own; the seconds, net of its start-up."""
    argv = [sys.executable, __file__, "--raw", address, task, str(tasks), str(in_flight)]
    done = subprocess.run(argv, check=True, capture_output=True, text=True)
    return float(done.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--keep", action="store_true", help="leave the plans and ledgers")
    parser.add_argument("--raw", nargs=4, metavar=("ADDRESS", "TASK", "TASKS", "IN_FLIGHT"))
    args = parser.parse_args()
    from distributed import Client, LocalCluster

    if args.raw:  # the plain Dask client's own process (`raw_client`)
        address, task, tasks, in_flight = args.raw
        with Client(address, set_as_default=True) as raw:
            print(raw_dask(raw, RAW_TASKS[task], int(tasks), int(in_flight)))
        return

    work = Path(tempfile.mkdtemp(prefix="bench-dask-"))
    steps = args.steps
    for name, count, concurrency in (
        ("one", 1, 2),
        ("many", steps, 2),
        ("many16", steps, 16),
    ):
        write_plan(work / f"{name}.json", count, concurrency)
    cluster = LocalCluster(
        n_workers=WORKERS,
        threads_per_worker=THREADS,
        processes=True,
        dashboard_address=None,
        silence_logs=50,
    )
    address = cluster.scheduler_address
    engine = [sys.executable, "-m", "engine", "run", "-q"]
    dask = ["--executor", "dask", "--dask-address", address]

    def run(name: str, plan: str, remote: bool) -> Callable[[], float]:
        ledger = str(work / f"{name}.db")
        argv = [*engine, "--ledger", ledger, plan, *(dask if remote else [])]
        return lambda: timed(argv, work)

    variants: dict[str, Callable[[], float]] = {
        "local 1": run("local", "one.json", False),
        f"local {steps}": run("local", "many.json", False),
        "dask 1": run("dask", "one.json", True),
        f"dask {steps}": run("dask", "many.json", True),
        f"dask {steps} x16": run("dask16", "many16.json", True),
        "raw noop x2": lambda: raw_client(address, "noop", steps, 2),
        "raw noop x16": lambda: raw_client(address, "noop", steps, 16),
        "raw /bin/true x2": lambda: raw_client(address, "true", steps, 2),
    }
    try:
        for variant in variants.values():
            variant()  # warm up: bytecode, the page cache, the workers' imports
        samples: dict[str, list[float]] = {name: [] for name in variants}
        for round_number in range(args.runs):
            for name, variant in variants.items():
                samples[name].append(variant())
            print(f"round {round_number + 1}/{args.runs} done", file=sys.stderr)
    finally:
        cluster.close()
    median = {name: statistics.median(values) for name, values in samples.items()}
    report(median, steps, args.runs)
    if args.keep:
        print(f"Kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


def report(median: dict[str, float], steps: int, runs: int) -> None:
    def per_step(name: str) -> float:
        return (median[f"{name} {steps}"] - median[f"{name} 1"]) / (steps - 1) * 1000

    local, dask = per_step("local"), per_step("dask")
    dask16 = (median[f"dask {steps} x16"] - median["dask 1"]) / (steps - 1) * 1000
    raw2 = median["raw noop x2"] / steps * 1000
    raw16 = median["raw noop x16"] / steps * 1000
    raw_true = median["raw /bin/true x2"] / steps * 1000
    load = os.getloadavg()[0]
    print(f"\n{steps} /bin/true steps, medians of {runs} interleaved rounds, load {load:.1f}")
    print(
        f"1-step plan, process start to exit: local {median['local 1'] * 1000:.0f} ms, "
        f"dask {median['dask 1'] * 1000:.0f} ms (import, connect, plugin)"
    )
    print("\n| variant | ms/step (net of start-up) | steps/s |")
    print("|---|---:|---:|")
    print(f"| engine, local executor, 2 in flight | {local:.2f} | {1000 / local:.0f} |")
    print(f"| engine, Dask executor, 2 in flight | {dask:.2f} | {1000 / dask:.0f} |")
    print(f"| engine, Dask executor, 16 in flight | {dask16:.2f} | {1000 / dask16:.0f} |")
    print(f"| plain Dask, no-op task, 2 in flight | {raw2:.2f} | {1000 / raw2:.0f} |")
    print(f"| plain Dask, no-op task, 16 in flight | {raw16:.2f} | {1000 / raw16:.0f} |")
    print(f"| plain Dask, /bin/true task, 2 in flight | {raw_true:.2f} | {1000 / raw_true:.0f} |")
    target = raw2 * 1.2
    verdict = "within" if dask <= target else "over"
    print(
        f"\nDask executor per step {dask:.2f} ms against plain Dask's no-op round trip "
        f"{raw2:.2f} ms: {dask / raw2:.2f}x ({verdict} the 1.2x target); "
        f"{dask - local:.2f} ms more than the local executor per step"
    )


if __name__ == "__main__":
    main()
