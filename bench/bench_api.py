"""Benchmark the Python API against `engine run` on a 1-step plan: does embedding cost more?

Whole processes, interleaved round by round so the shared host's drift hits both alike:

- `engine run plan.json -q`: the CLI, start-up to exit;
- `python -c "import engine; engine.run_plan('plan.json')"`: the API, start-up to exit;
- `python -c "import engine"` next to `python -c pass`: what `import engine` adds to a start-up
  (every API name is imported on first use, so this is the package and nothing more);

then, in this process, `engine.run_plan` called again and again (the cost of one more run in a
program that already imported the engine). The plan is validated once first, so every run below
loads it from `.ledger/cache/`, as a repeated `engine run` does.

    python bench/bench_api.py             # 15 rounds
    python bench/bench_api.py --runs 5    # quicker
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

ENGINE = str(Path(sys.executable).with_name("engine"))
PLAN = {"name": "bench-api", "steps": [{"id": "s0", "command": "/bin/true"}]}


def wall_ms(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        work = Path(tmp)
        (work / "plan.json").write_text(json.dumps(PLAN))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ENGINE_", "LEDGER_"))}
        env["LEDGER_DB"] = str(work / ".ledger" / "framework.db")
        python = sys.executable
        cases = {
            "engine run (CLI)": [ENGINE, "run", "plan.json", "-q"],
            "import engine + run_plan": [
                python, "-c", "import engine; engine.run_plan('plan.json')",
            ],
            "python -c 'import engine'": [python, "-c", "import engine"],
            "python -c pass": [python, "-c", "pass"],
        }  # fmt: skip
        subprocess.run(cases["engine run (CLI)"], cwd=work, env=env, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.runs):
            for name, argv in cases.items():
                times[name].append(wall_ms(argv, work, env))
        median = {name: statistics.median(values) for name, values in times.items()}
        print(f"whole processes, 1-step plan, median of {args.runs} interleaved rounds:")
        for name, value in median.items():
            spread = f"{min(times[name]):.1f}-{max(times[name]):.1f}"
            print(f"  {name:<28} {value:7.1f} ms  ({spread})")
        api, cli = median["import engine + run_plan"], median["engine run (CLI)"]
        print(f"  API / CLI: {api / cli:.2f}x")
        added = median["python -c 'import engine'"] - median["python -c pass"]
        print(f"  `import engine` adds {added:.1f} ms to a Python start-up")
        in_process(work, args.runs)


def in_process(work: Path, runs: int) -> None:
    os.chdir(work)
    import engine

    engine.run_plan("plan.json")  # warm: the imports a run needs
    laps = []
    for _ in range(runs):
        start = time.perf_counter()
        result = engine.run_plan("plan.json")
        laps.append((time.perf_counter() - start) * 1000)
        assert result.ok, result.error
    print(f"in one process, run_plan on the same plan again: {statistics.median(laps):.1f} ms"
          f" median ({min(laps):.1f}-{max(laps):.1f})")  # fmt: skip


if __name__ == "__main__":
    main()
