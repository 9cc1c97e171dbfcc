"""`engine run --dry-run`: the waves a plan runs in and, from ledger history, how long it takes.

The estimate assumes every step runs (conditions are not evaluated) and takes the median
duration it had in the plan's recent runs; steps never seen before count as zero.
"""

from __future__ import annotations

import heapq
import statistics
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import LedgerError
from engine.ledger.reader import LedgerReader
from engine.plan.graph import StepGraph
from engine.plan.spec import LoadedPlan
from engine.states import StepStatus

HISTORY_RUNS = 20
HOOK_GROUPS = ("on_success", "on_failure", "on_exit")


@dataclass(frozen=True)
class DryRun:
    plan_name: str
    max_concurrency: int
    waves: list[list[str]]
    hooks: dict[str, list[str]]
    p50_ms: dict[str, int]  # step id -> median duration of its recent successes
    history_runs: int
    critical_path: list[str]
    critical_path_ms: int
    expected_ms: int  # the critical path, stretched by the concurrency limit

    def as_json(self) -> dict[str, Any]:
        return {
            "plan": self.plan_name,
            "max_concurrency": self.max_concurrency,
            "waves": [
                [{"step_id": s, "p50_ms": self.p50_ms.get(s)} for s in wave] for wave in self.waves
            ],
            "hooks": self.hooks,
            "history_runs": self.history_runs,
            "steps_without_history": [s for w in self.waves for s in w if s not in self.p50_ms],
            "critical_path": self.critical_path,
            "critical_path_ms": self.critical_path_ms,
            "expected_ms": self.expected_ms if self.p50_ms else None,
        }


def waves(graph: StepGraph[Any]) -> list[list[str]]:
    """Topological levels: wave n holds the steps whose longest dependency chain has n steps."""
    level: dict[str, int] = {}
    for step_id in graph.order():
        level[step_id] = 1 + max((level[d] for d in graph.deps[step_id]), default=-1)
    result: list[list[str]] = [[] for _ in range(max(level.values(), default=-1) + 1)]
    for step_id in graph.steps:  # plan order within a wave
        result[level[step_id]].append(step_id)
    return result


def step_medians(reader: LedgerReader, plan_name: str) -> tuple[dict[str, int], int]:
    """Median duration per step over the plan's last HISTORY_RUNS runs, and how many runs."""
    runs = [r for r in reader.list_runs(plan=plan_name, limit=HISTORY_RUNS) if r.status.is_final]
    samples: dict[str, list[int]] = {}
    for run in runs:
        for step in reader.run_steps(run.id):
            if step.status is StepStatus.SUCCEEDED and step.duration_ms is not None:
                samples.setdefault(step.step_id, []).append(step.duration_ms)
    return {s: int(statistics.median_low(v)) for s, v in samples.items()}, len(runs)


def expected_run_ms(loaded: LoadedPlan, ledger_path: Path, max_concurrency: int) -> int | None:
    """What a run of `loaded` should take by the ledger's history; None without history."""
    if not ledger_path.exists():
        return None
    try:
        with LedgerReader.open(ledger_path) as reader:
            medians, runs = step_medians(reader, loaded.plan.name)
    except LedgerError:
        return None  # the run itself says what is wrong with the ledger
    if not medians:
        return None
    return estimate(loaded, medians, runs, max_concurrency).expected_ms


def estimate(
    loaded: LoadedPlan, p50_ms: dict[str, int], history_runs: int, max_concurrency: int
) -> DryRun:
    """The waves, the critical path and the expected duration under the concurrency limit."""
    graph = loaded.graph
    cost = {s: p50_ms.get(s, 0) for s in graph.steps}
    finish: dict[str, int] = {}
    via: dict[str, str | None] = {}
    for step_id in graph.order():
        before = max(graph.deps[step_id], key=lambda d: finish[d], default=None)
        finish[step_id] = cost[step_id] + (finish[before] if before else 0)
        via[step_id] = before
    path: list[str] = []
    node = max(finish, key=lambda s: finish[s], default=None)
    while node is not None:
        path.append(node)
        node = via[node]
    plan = loaded.plan
    return DryRun(
        plan_name=plan.name,
        max_concurrency=max_concurrency,
        waves=waves(graph),
        hooks={g: [s.id for s in getattr(plan, g)] for g in HOOK_GROUPS if getattr(plan, g)},
        p50_ms={s: v for s, v in p50_ms.items() if s in graph.steps},
        history_runs=history_runs,
        critical_path=path[::-1],
        critical_path_ms=max(finish.values(), default=0),
        expected_ms=_simulate(graph, cost, max_concurrency),
    )


def _simulate(graph: StepGraph[Any], cost: dict[str, int], slots: int) -> int:
    """Replay the scheduler with known durations: start what is ready, in plan order, in slots."""
    waiting = {s: len(d) for s, d in graph.deps.items()}
    ready = deque(s for s in graph.steps if waiting[s] == 0)
    running: list[tuple[int, int, str]] = []
    now = seq = 0
    while ready or running:
        while ready and len(running) < slots:
            seq += 1
            heapq.heappush(running, (now + cost[ready[0]], seq, ready.popleft()))
        now, _, done = heapq.heappop(running)
        for dependent in graph.dependents[done]:
            waiting[dependent] -= 1
            if waiting[dependent] == 0:
                ready.append(dependent)
    return now
