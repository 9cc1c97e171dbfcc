"""A run's attempts on one time axis (the Timeline tab's model): bars, critical path, ticks.

No Textual here: the widget (ledger_tui/widgets/timeline.py) only paints what this computes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from engine.ledger.records import Attempt

# Tick spacings an axis may use, in seconds: round numbers people read at a glance.
TICK_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400)


@dataclass(frozen=True)
class Bar:
    """One attempt: where it starts and ends, in seconds from the run's start."""

    step_id: str
    attempt: int
    status: str  # the attempt's status (`running` while it runs)
    start: float
    end: float
    critical: bool  # on the chain of steps that decided when the run ended


@dataclass(frozen=True)
class Timeline:
    """The bars of one run and the time span the axis covers (all of it: zoomed to fit)."""

    bars: tuple[Bar, ...]
    span: float  # seconds from the run's start to its end, or to now while it runs

    def column(self, at: float, width: int) -> int:
        """The column (0 .. width - 1) at which `at` seconds fall on an axis `width` wide."""
        if self.span <= 0 or width <= 1:
            return 0
        return min(width - 1, max(0, int(at / self.span * width)))


def plan_dependencies(plan_json: str) -> dict[str, tuple[str, ...]]:
    """Each step's `depends_on`, read from the stored plan; empty if it cannot be read."""
    try:
        plan = json.loads(plan_json)
    except ValueError:
        return {}
    found: dict[str, tuple[str, ...]] = {}
    if not isinstance(plan, dict):
        return found
    for step in plan.get("steps") or ():
        if isinstance(step, dict) and isinstance(step.get("id"), str):
            needs = step.get("depends_on") or ()
            found[step["id"]] = tuple(d for d in needs if isinstance(d, str))
    return found


def critical_path(finished: Mapping[str, float], deps: Mapping[str, Sequence[str]]) -> set[str]:
    """The steps on the chain that ended last: from the last step to end, back through the
    dependency that finished last before it started (what it waited for), as Gantt tools do."""
    if not finished:
        return set()
    step = max(finished, key=lambda s: (finished[s], s))
    path = {step}
    while True:
        before = [d for d in deps.get(step, ()) if d in finished and d not in path]
        if not before:
            return path
        step = max(before, key=lambda d: (finished[d], d))
        path.add(step)


def build_timeline(
    attempts: Iterable[Attempt],
    deps: Mapping[str, Sequence[str]],
    run_started: float | None,
    run_finished: float | None,
    now: float,
) -> Timeline:
    """Bars for `attempts` (in start order), measured from the run's start; running bars end now."""
    attempts = sorted(attempts, key=lambda a: (a.started_at, a.id))
    if not attempts:
        return Timeline((), 0.0)
    origin = min(run_started or attempts[0].started_at, attempts[0].started_at)
    end_of_run = run_finished if run_finished is not None else now
    finished: dict[str, float] = {}
    for a in attempts:
        finished[a.step_id] = a.finished_at if a.finished_at is not None else end_of_run
    critical = critical_path(finished, deps)
    bars = tuple(
        Bar(
            step_id=a.step_id,
            attempt=a.attempt,
            status=str(a.status),
            start=a.started_at - origin,
            end=max(a.started_at, a.finished_at if a.finished_at is not None else end_of_run)
            - origin,
            critical=a.step_id in critical,
        )
        for a in attempts
    )
    span = max([end_of_run - origin, *(bar.end for bar in bars)])
    return Timeline(bars, max(span, 0.0))


def tick_step(span: float, width: int, min_gap: int = 10) -> int:
    """The smallest round spacing (seconds) that keeps tick labels `min_gap` columns apart."""
    most = max(1, width // min_gap)
    for step in TICK_STEPS:
        if span / step <= most:
            return step
    return math.ceil(span / most / 86400) * 86400


def tick_label(seconds: int) -> str:
    """`0s`, `45s`, `2m`, `1m30s`, `2h`: short enough to sit under a tick."""
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m" + (f"{secs:02d}s" if secs else "")
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h" + (f"{minutes:02d}m" if minutes else "")


def axis(span: float, width: int) -> str:
    """The axis line under the bars: a label at each tick, left-aligned on its column."""
    line = [" "] * width
    if width <= 0:
        return ""
    step = tick_step(span, width)
    at = 0
    while at <= span:
        column = 0 if span <= 0 else min(width - 1, int(at / span * width))
        label = "|" + tick_label(at)
        if column + len(label) <= width and all(c == " " for c in line[column : column + 1]):
            line[column : column + len(label)] = label
        at += step
    return "".join(line).rstrip()
