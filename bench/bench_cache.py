"""Benchmark the step cache: what a cache hit costs, against running the step (/bin/true).

Three plans of N independent steps at concurrency 2, every step /bin/true: `plain` (no cache),
`hit` (every step has `cache: true` and a result in the ledger, so nothing is spawned) and `miss`
(`cache: true` with `--force`, so every step is looked up, keyed and run). Per-step cost is
(median wall - the 1-step plan's median) / (N - 1), which takes start-up out. Rounds interleave
the plans, so a noisy stretch of the machine hits all of them alike.

    python bench/bench_cache.py            # N = 500, 7 rounds
    python bench/bench_cache.py --steps 200 --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def write_plan(path: Path, steps: int, cache: bool) -> None:
    plan = {
        "name": path.stem,
        "globals": {"max_concurrency": 2},
        "steps": [
            {"id": f"s{i}", "command": "/bin/true", **({"cache": True} if cache else {})}
            for i in range(steps)
        ],
    }
    path.write_text(json.dumps(plan))


def timed(command: list[str], cwd: Path, ledger: Path) -> float:
    env = {**os.environ, "LEDGER_DB": str(ledger)}
    start = time.perf_counter()
    subprocess.run(
        command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    engine = [sys.executable, "-m", "engine", "run"]
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as tmp:
        work = Path(tmp)
        for name, steps, cache in [
            ("one", 1, False), ("plain", args.steps, False), ("cached", args.steps, True),
        ]:  # fmt: skip
            write_plan(work / f"{name}.json", steps, cache)
        ledger = work / ".ledger" / "framework.db"
        commands = {
            "one": [*engine, "one.json", "-q"],
            "plain": [*engine, "plain.json", "-q"],
            "hit": [*engine, "cached.json", "-q"],
            "miss": [*engine, "cached.json", "-q", "--force"],
        }
        for command in commands.values():  # warm up; the first cached run fills the cache
            timed(command, work, ledger)
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, command in commands.items():
                samples[name].append(timed(command, work, ledger))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    base = medians["one"]
    print(f"{args.steps} steps /bin/true at concurrency 2, median of {args.runs} rounds")
    for name in ("plain", "hit", "miss"):
        per_step = (medians[name] - base) / (args.steps - 1) * 1000
        print(f"  {name:5}  {medians[name]:6.2f} s   {per_step:6.3f} ms/step")
    plain = (medians["plain"] - base) / (args.steps - 1)
    hit = (medians["hit"] - base) / (args.steps - 1)
    print(f"a cache hit costs {hit / plain:.0%} of running /bin/true")


if __name__ == "__main__":
    main()
