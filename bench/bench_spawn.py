"""Spawn cost of LocalExecutor next to plain `subprocess.run`, measured in one run (not a test).

Run: `python bench/bench_spawn.py [--spawns 1000] [--repeat 7]`. Every spawn execs `/bin/true`; the
executor path includes what a real attempt pays: opening its log file, the pidfd watch, reaping,
the group check and reading the tail. Compare ratios, not absolute figures: those move between
machines and runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from engine.executors.base import LaunchSpec
from engine.executors.local import LocalExecutor

ARGV = ("/bin/true",)
ENV = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}


def executor_run(
    spawns: int, concurrency: int, log_dir: Path, spawn_threads: int
) -> tuple[float, float]:
    """Wall seconds and loop-thread CPU seconds for `spawns` attempts, `concurrency` in flight.

    The loop thread's CPU time is what the executor takes from the engine's one thread (the
    scheduler and ledger writer share it); a busy machine disturbs it less than wall time.
    """

    async def main() -> tuple[float, float]:
        executor = LocalExecutor(spawn_threads=spawn_threads)
        specs = [
            LaunchSpec("bench", f"s{i}", 1, ARGV, None, ENV, log_dir / f"s{i}.log", None, 5.0)
            for i in range(spawns)
        ]
        pending = iter(specs)

        async def worker() -> None:
            for spec in pending:
                result = await (await executor.launch(spec)).wait()
                assert result.exit_code == 0, result

        cpu_started = time.thread_time()
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started, time.thread_time() - cpu_started
        executor.close()
        return elapsed

    return asyncio.run(main())


def subprocess_run(spawns: int, concurrency: int) -> float:
    """Wall seconds for `spawns` plain `subprocess.run` calls spread over `concurrency` threads."""
    counter = iter(range(spawns))
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                if next(counter, None) is None:
                    return
            subprocess.run(ARGV, env=ENV, check=True)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def summary(figures: list[float]) -> str:
    return f"{statistics.median(figures):6.3f} ({min(figures):.3f}-{max(figures):.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description="Spawn cost of LocalExecutor vs subprocess.run.")
    parser.add_argument("--spawns", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--log-dir", type=Path, default=None, help="where the logs go (a temp dir)")
    parser.add_argument(
        "--spawn-threads", type=int, default=0, help="LocalExecutor(spawn_threads=)"
    )
    args = parser.parse_args()
    n = args.spawns
    print(f"{n} spawns of /bin/true x {args.repeat} runs; ms/spawn, median (min-max)")
    for concurrency in (1, 2):
        baseline: list[float] = []
        wall: list[float] = []
        loop_cpu: list[float] = []
        for _ in range(args.repeat):  # interleaved, so drifting machine load hits both alike
            baseline.append(subprocess_run(n, concurrency) / n * 1000)
            with tempfile.TemporaryDirectory(dir=args.log_dir) as log_dir:
                seconds, cpu_seconds = executor_run(
                    n, concurrency, Path(log_dir), args.spawn_threads
                )
            wall.append(seconds / n * 1000)
            loop_cpu.append(cpu_seconds / n * 1000)
        label = "sequential" if concurrency == 1 else f"concurrency {concurrency}"
        ratio = statistics.median(wall) / statistics.median(baseline)
        print(f"{label}:")
        print(f"  subprocess.run             {summary(baseline)}")
        print(f"  LocalExecutor              {summary(wall)}   {ratio:.2f}x subprocess.run")
        print(f"  LocalExecutor loop-thread CPU {summary(loop_cpu)}")


if __name__ == "__main__":
    main()
