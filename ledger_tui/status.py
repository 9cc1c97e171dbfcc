"""`ledger-tui status`: the Runs overview as text or JSON, for scripts and non-TTY terminals.

Its JSON runs have the shape of `engine runs --json` (engine.ledger.json_shapes).
"""

from __future__ import annotations

import json
import time

from engine.ledger.json_shapes import run_json
from engine.ledger.records import RunSummary
from ledger_tui import format as fmt
from ledger_tui.watch import Overview


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
    if run.waiting is not None:
        current = run.waiting.note()
    status = run.display_status
    return (
        f"{status:<10} {run.plan_name[:20]:<20} {run.id:<14} {fmt.steps_progress(run):<14}"
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
