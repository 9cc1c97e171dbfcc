"""`ledger-tui status`: the Runs overview as text or JSON, for scripts and non-TTY terminals."""

from __future__ import annotations

import json
import time
from typing import Any

from engine.ledger.records import RunSummary
from ledger_tui import format as fmt
from ledger_tui.watch import Overview


def run_json(run: RunSummary, now: float) -> dict[str, Any]:
    return {
        "id": run.id,
        "plan": run.plan_name,
        "status": str(run.status),
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "elapsed_ms": fmt.elapsed_ms(run, now),
        "steps_total": run.steps_total,
        "steps_done": run.steps_done,
        "steps_failed": run.steps_failed,
        "running_steps": list(run.running_step_ids),
        "error": run.error,
        "exit_code": run.exit_code,
    }


def overview_json(overview: Overview, now: float | None = None) -> str:
    at = time.time() if now is None else now
    return json.dumps(
        {
            "active": [run_json(run, at) for run in overview.active],
            "recent": [run_json(run, at) for run in overview.recent],
        },
        indent=2,
    )


def _line(run: RunSummary, now: float) -> str:
    current = ",".join(run.running_step_ids) or "-"
    return (
        f"{run.status:<10} {run.plan_name[:20]:<20} {run.id:<14} {fmt.steps_progress(run):<14}"
        f" {fmt.duration(fmt.elapsed_ms(run, now)):>8}  {current}"
    )


def overview_text(overview: Overview, now: float | None = None) -> str:
    at = time.time() if now is None else now
    header = f"{'STATUS':<10} {'PLAN':<20} {'RUN':<14} {'STEPS':<14} {'ELAPSED':>8}  CURRENT"
    lines = [f"Active runs: {len(overview.active)}"]
    if overview.active:
        lines += [header, *(_line(run, at) for run in overview.active)]
    lines.append(f"Recent runs: {len(overview.recent)}")
    if overview.recent:
        lines += [header, *(_line(run, at) for run in overview.recent)]
    if not overview.active and not overview.recent:
        lines.append("No runs yet. Start one with: engine run examples/hello.json")
    return "\n".join(lines)
