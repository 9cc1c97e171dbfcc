"""Benchmark `engine run` against `make -j2` and `doit -n 2` on the same workloads.

Every step execs /bin/true. Workloads: (a) 1,000 independent steps at concurrency 2, (b) a chain of
200, (c) 1 -> 500 -> 1 at concurrency 2. Per-step cost is (median wall - the same tool's 1-step
median) / (steps - 1), which takes each tool's start-up out. Everything is measured in this run, on
this machine: only the ratios mean something elsewhere.

    python bench/bench_run.py            # 7 rounds per workload (21 for the 1-step plan)
    python bench/bench_run.py --runs 3   # quicker
    python bench/bench_run.py --keep     # leave the work directory (see below)
    python bench/bench_run.py --compare ../old   # also the engine of that source tree

Only `engine` creates files (a log per attempt), so anything that makes file creation slow counts
against it alone: on ext4 without a journal, creating files is several times slower for a few
minutes after thousands were deleted (the test suite, or this benchmark's own clean-up), see
docs/architecture.md. Leave five minutes after those before comparing figures; the benchmark
prints what creating a file cost before and after its runs, so a slowed run shows itself.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

WORKLOADS = {"one": 1, "a": 1000, "b": 200, "c": 502}
COMPARED = "engine (--compare)"


def deps_of(workload: str, i: int) -> list[int]:
    if workload == "b":
        return [i - 1] if i else []
    if workload == "c":
        if i == 0:
            return []
        return list(range(1, 501)) if i == 501 else [0]
    return []


def write_plan(workload: str, path: Path) -> None:
    steps = []
    for i in range(WORKLOADS[workload]):
        step: dict[str, object] = {"id": f"s{i}", "command": "/bin/true"}
        if deps := deps_of(workload, i):
            step["depends_on"] = [f"s{d}" for d in deps]
        steps.append(step)
    plan = {"name": f"bench-{workload}", "globals": {"max_concurrency": 2}, "steps": steps}
    path.write_text(json.dumps(plan))


def write_makefile(workload: str, path: Path) -> None:
    n = WORKLOADS[workload]
    lines = [
        "all: " + " ".join(f"s{i}" for i in range(n)),
        ".PHONY: all " + " ".join(f"s{i}" for i in range(n)),
    ]
    for i in range(n):
        lines.append(f"s{i}: " + " ".join(f"s{d}" for d in deps_of(workload, i)))
        lines.append("\t@/bin/true")
    path.write_text("\n".join(lines) + "\n")


def write_dodo(workload: str, path: Path) -> None:
    n = WORKLOADS[workload]
    deps = {i: [f"s{d}" for d in deps_of(workload, i)] for i in range(n)}
    path.write_text(
        "DOIT_CONFIG = {'verbosity': 0}\n"
        f"DEPS = {deps!r}\n"
        "def task_s():\n"
        f"    for i in range({n}):\n"
        "        yield {'name': str(i), 'basename': f's{i}', 'actions': [['/bin/true']],\n"
        "               'task_dep': DEPS[i], 'uptodate': [False]}\n"
    )


class Tool(NamedTuple):
    argv: list[str]
    env: dict[str, str] | None = None  # None: this process's environment


def timed(tool: Tool, cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        tool.argv,
        cwd=cwd,
        env=tool.env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def file_creation_us(directory: Path, count: int = 300) -> float:
    """Wall time to create one empty file the way `engine` creates each log. The files stay
    until the end, since deleting them would slow the creations that follow."""
    directory.mkdir()
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
    start = time.perf_counter()
    for i in range(count):
        os.close(os.open(directory / f"{i}.log", flags, 0o644))
    return (time.perf_counter() - start) / count * 1e6


def interleaved(runs: int, commands: dict[str, Tool], cwd: Path) -> dict[str, float]:
    """Median wall time per tool; each round runs every tool once, so a noisy stretch of the
    (shared, virtual) machine hits all of them alike instead of one tool's whole series."""
    for command in commands.values():
        timed(command, cwd)  # warm the page cache and bytecode
    samples: dict[str, list[float]] = {tool: [] for tool in commands}
    for _ in range(runs):
        for tool, command in commands.items():
            samples[tool].append(timed(command, cwd))
    return {tool: statistics.median(values) for tool, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--compare",
        type=Path,
        metavar="SRC",
        help="also run the engine of another source tree (a checkout of an older commit), in"
        " the same rounds, with its own ledger: the honest way to say 'no slowdown'",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="leave the generated plans, ledgers and logs (and spare the next run the slow"
        " file creation that deleting them causes)",
    )
    args = parser.parse_args()
    root = Path(__file__).resolve().parents[1]
    for source in (root, args.compare):
        if source is not None:
            compileall = [sys.executable, "-m", "compileall", "-q", str(source / "engine")]
            subprocess.run(compileall, check=True)
    doit = shutil.which("doit", path=str(Path(sys.executable).parent)) or shutil.which("doit")
    make = shutil.which("make")
    work = Path(tempfile.mkdtemp(prefix="bench-run-"))
    created_before = file_creation_us(work / "probe-before")
    results: dict[str, dict[str, float]] = {}
    throughput = ""
    for workload in WORKLOADS:
        directory = work / workload
        directory.mkdir()
        write_plan(workload, directory / "plan.json")
        write_makefile(workload, directory / "Makefile")
        write_dodo(workload, directory / "dodo.py")
        ledger = directory / "ledger.db"
        run = ["-m", "engine", "run", "-q", "--ledger"]
        commands = {"engine": Tool([sys.executable, *run, str(ledger), "plan.json"])}
        if args.compare:
            other = {**os.environ, "PYTHONPATH": str(args.compare.resolve())}
            compared = [sys.executable, *run, str(directory / "compared.db"), "plan.json"]
            commands[COMPARED] = Tool(compared, other)
        if make:
            commands["make -j2"] = Tool([make, "-j2", "-s"])
        if doit:
            db = str(directory / ".doit.db")
            commands["doit -n 2"] = Tool([doit, "-n", "2", "-P", "process", "--db-file", db])
        runs = args.runs if workload != "one" else args.runs * 3
        row = interleaved(runs, commands, directory)
        results[workload] = row
        if workload == "a":
            with sqlite3.connect(ledger) as conn:
                events = conn.execute("select count(*) from events").fetchone()[0]
                runs_done = conn.execute("select count(*) from runs").fetchone()[0]
            rate = events / runs_done / row["engine"]
            throughput = f"{rate:,.0f} events/s committed during workload (a)"
        cells = ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in row.items())
        print(f"{workload}: {cells}", file=sys.stderr)
    created_after = file_creation_us(work / "probe-after")
    report(results, throughput)
    print(
        f"File creation in {work.parent}: {created_before:.0f} us per file before the runs,"
        f" {created_after:.0f} us after (tens of us on a quiet file system; several times"
        " more means recent mass deletions are slowing `engine`'s log files)"
    )
    if args.keep:
        print(f"Kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


def report(results: dict[str, dict[str, float]], throughput: str) -> None:
    tools = list(results["one"])
    print(
        "\n1-step plan, process start to exit: "
        + ", ".join(f"{t} {results['one'][t] * 1000:.0f} ms" for t in tools)
    )
    print(
        "\n| workload | "
        + " | ".join(f"{t} net ms/step" for t in tools)
        + " | engine / make | engine / doit |"
        + (" engine / compared |" if COMPARED in tools else "")
    )
    print("|---|" + "---:|" * (len(tools) + 2 + (COMPARED in tools)))
    names = {
        "a": "(a) 1000 independent, -j2",
        "b": "(b) chain of 200",
        "c": "(c) 1 -> 500 -> 1, -j2",
    }
    for workload in ("a", "b", "c"):
        net = {
            t: (results[workload][t] - results["one"][t]) / (WORKLOADS[workload] - 1) * 1000
            for t in tools
        }
        ratio_make = net["engine"] / net["make -j2"] if "make -j2" in net else float("nan")
        ratio_doit = net["engine"] / net["doit -n 2"] if "doit -n 2" in net else float("nan")
        cells = " | ".join(f"{net[t]:.3f}" for t in tools)
        compared = f" {net['engine'] / net[COMPARED]:.2f}x |" if COMPARED in net else ""
        print(f"| {names[workload]} | {cells} | {ratio_make:.2f}x | {ratio_doit:.2f}x |{compared}")
    print(f"\nLedger: {throughput}")


if __name__ == "__main__":
    main()
