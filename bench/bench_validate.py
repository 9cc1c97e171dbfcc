"""How fast a plan is validated: in-process at 10,000 steps, the `engine validate` process,
whether the DAG checks stay linear, and the peak memory of explaining a rejected 10 MB plan.
Not a test; prints a table. Run:

    python bench/bench_validate.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.plan.loader import load_document

REPO = Path(__file__).resolve().parents[1]


def make_plan(steps: int, *, rich: bool = False, seed: int = 1) -> dict[str, Any]:
    """`steps` steps, each depending on up to 3 random earlier ones (~3 edges per step). `rich`
    adds what makes checks work harder: an output reference and a condition per step."""
    rng = random.Random(seed)
    items: list[dict[str, Any]] = []
    for i in range(steps):
        deps = [f"s{d}" for d in sorted(rng.sample(range(i), min(3, i)))]
        step: dict[str, Any] = {"id": f"s{i}", "command": "echo", "args": [f"step {i}"]}
        if deps:
            step["depends_on"] = deps
        if rich:
            step["provides"] = ["out"]
            if deps:
                step["args"].append(f"${{steps.{deps[0]}.outputs.out}}")
                step["condition"] = f"steps.{deps[-1]}.status == 'succeeded'"
        items.append(step)
    return {"name": f"bench-{steps}", "steps": items}


def edges(plan: dict[str, Any]) -> int:
    return sum(len(step.get("depends_on", ())) for step in plan["steps"])


def median_seconds(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def load_seconds(plan: dict[str, Any], repeat: int) -> float:
    return median_seconds(lambda: load_document(plan, "bench.json", REPO, {}), repeat)


def process_seconds(argv: list[str], repeat: int) -> float:
    def run() -> None:
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    run()  # warm the page cache and .pyc files
    return median_seconds(run, repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    quick = parser.parse_args().quick
    loads, runs = (2, 5) if quick else (5, 20)

    print("In-process load_document (read + schema + variables + DAG checks), median of", loads)
    print(
        f"{'steps':>8} {'edges':>8} {'plain ms':>10} {'µs/step':>8} {'rich ms':>9} {'µs/step':>8}"
    )
    for steps in (2_500, 5_000, 10_000, 20_000):
        plain, rich = make_plan(steps), make_plan(steps, rich=True)
        plain_s, rich_s = load_seconds(plain, loads), load_seconds(rich, loads)
        print(
            f"{steps:>8} {edges(plain):>8} {plain_s * 1000:>10.0f} {plain_s / steps * 1e6:>8.1f}"
            f" {rich_s * 1000:>9.0f} {rich_s / steps * 1e6:>8.1f}"
        )
    print("(rich: one output reference and one condition per step; a constant µs/step is linear)")

    print()
    yaml_against_json(loads)
    print()
    matrix_expansion(loads)

    print()
    print(f"Whole process, median of {runs} runs")
    python = [sys.executable]
    baseline = process_seconds([*python, "-c", "pass"], runs)
    rows = [
        ("python -c pass", baseline),
        (
            'python -c "import jsonschema"',
            process_seconds([*python, "-c", "import jsonschema"], runs),
        ),
        (
            "engine validate examples/diamond.json",
            process_seconds(
                [*python, "-m", "engine", "validate", str(REPO / "examples" / "diamond.json")], runs
            ),
        ),
    ]
    print(f"{'command':<40} {'ms':>7} {'× python':>9}")
    for label, seconds in rows:
        print(f"{label:<40} {seconds * 1000:>7.1f} {seconds / baseline:>9.2f}")

    print()
    rejection_memory()


def yaml_against_json(repeat: int) -> None:
    """Parsing the 10,000-step plan as YAML against loading it from JSON (parse, schema, checks)."""
    import yaml

    from engine.plan.loader import load_text
    from engine.plan.yaml_document import parse_yaml

    plan = make_plan(10_000)
    json_text = json.dumps(plan, indent=2)
    yaml_text = yaml.safe_dump(plan, sort_keys=False)
    json_s = median_seconds(lambda: load_text(json_text, Path("bench.json"), {}), repeat)
    yaml_s = median_seconds(lambda: parse_yaml(yaml_text, "bench.yaml"), repeat)
    print(f"10,000-step plan, median of {repeat}")
    print(f"{'JSON load (parse + schema + checks)':<40} {json_s * 1000:>7.0f} ms")
    print(f"{'YAML parse':<40} {yaml_s * 1000:>7.0f} ms  ({yaml_s / json_s:.2f}× the JSON load)")


def matrix_plan(side: int) -> dict[str, Any]:
    """One step with a side x side matrix (`${matrix.X}` in args and env) and a step after it."""
    test = {
        "id": "test",
        "command": "echo",
        "args": ["${matrix.os}", "py${matrix.py}"],
        "env": {"PY": "${matrix.py}"},
        "matrix": {"os": [f"os{i}" for i in range(side)], "py": [f"3.{i}" for i in range(side)]},
    }
    after = {"id": "report", "command": "true", "depends_on": ["test"]}
    return {"name": "bench-matrix", "steps": [test, after]}


def matrix_expansion(repeat: int) -> None:
    """A 10,000-expansion matrix validates in under a second, expansion included."""
    print(f"In-process load_document of a matrix, median of {repeat}")
    print(f"{'plan':<44} {'steps':>7} {'ms':>7} {'< 1 s':>6}")
    plain = make_plan(10_000)
    plain_s = load_seconds(plain, repeat)
    print(f"{'10,000 written steps (the plain plan above)':<44} {10_000:>7} {plain_s * 1000:>7.0f}")
    for side in (10, 50, 100):
        plan = matrix_plan(side)
        seconds = load_seconds(plan, repeat)
        steps = len(load_document(plan, "bench.json", REPO, {}).plan.steps)
        label = f"one step with a {side}x{side} matrix, one after it"
        verdict = "yes" if seconds < 1 else "NO"
        print(f"{label:<44} {steps:>7} {seconds * 1000:>7.0f} {verdict:>6}")


# Runs `engine validate` in a fresh interpreter and prints its peak RSS in KB (Linux units).
_PEAK_RSS = (
    "import resource, sys\n"
    "from engine.cli.main import main\n"
    "try:\n    main(['validate', sys.argv[1]])\nexcept SystemExit:\n    pass\n"
    "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.__stderr__)\n"
)


def peak_rss_mb(plan: Path) -> float:
    result = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS, str(plan)], capture_output=True, text=True, check=False
    )
    return int(result.stderr.strip().splitlines()[-1]) / 1024


def rejection_memory() -> None:
    """Peak RSS of `engine validate` on a ~10 MB plan, valid and wrong in every step."""
    steps = 250_000
    valid = {"name": "big", "steps": [{"id": f"s{i}", "command": "true"} for i in range(steps)]}
    wrong = {"name": "big", "steps": [{"id": f"s{i}", "command": 5} for i in range(steps)]}
    print(f"Peak RSS of `engine validate` on a {steps:,}-step plan")
    print(f"{'plan':<32} {'file MB':>8} {'peak MB':>8} {'× file':>7}")
    with tempfile.TemporaryDirectory() as directory:
        for label, document in (("valid", valid), ("every step wrong (500,000)", wrong)):
            path = Path(directory) / "plan.json"
            path.write_text(json.dumps(document), encoding="utf-8")
            size_mb = path.stat().st_size / 1048576
            peak = peak_rss_mb(path)
            print(f"{label:<32} {size_mb:>8.1f} {peak:>8.0f} {peak / size_mb:>7.0f}")


if __name__ == "__main__":
    main()
