"""`engine run --dry-run`: print the waves and the expected duration; run nothing."""

from __future__ import annotations

import json
from pathlib import Path

import click

from engine.humanize import duration, plural
from engine.ledger.location import resolve_ledger_path
from engine.ledger.reader import LedgerReader
from engine.ledger.recovery import reconcile
from engine.plan.spec import LoadedPlan
from engine.run.dryrun import estimate, step_medians
from engine.run.slots import concurrency_limit


def print_dry_run(
    loaded: LoadedPlan, ledger: str | None, max_concurrency: int | None, *, as_json: bool
) -> int:
    """Print the dry run of `loaded` (history from the ledger, if there is one); exit code 0."""
    slots = concurrency_limit(loaded, max_concurrency)
    path: Path = resolve_ledger_path(ledger, create=False)
    medians: dict[str, int] = {}
    runs = 0
    if path.exists():
        with LedgerReader.open(path) as reader:
            reconcile(reader)
            medians, runs = step_medians(reader, loaded.plan.name)
    result = estimate(loaded, medians, runs, slots)
    if as_json:
        click.echo(json.dumps(result.as_json(), indent=2))
        return 0
    steps = plural(len(loaded.plan.steps), "step")
    click.echo(f"plan {result.plan_name}: {steps}, max concurrency {slots}")
    for number, wave in enumerate(result.waves, start=1):
        names = ", ".join(f"{s} (~{duration(medians[s])})" if s in medians else s for s in wave)
        click.echo(f"wave {number:<3} {names}")
    for group, ids in result.hooks.items():
        click.echo(f"{group:<8} {', '.join(ids)}")
    if not medians:
        click.echo("expected duration: unknown (no earlier runs of this plan in the ledger)")
        return 0
    unknown = sum(1 for w in result.waves for s in w if s not in medians)
    click.echo(
        f"expected duration ~{duration(result.expected_ms)}"
        f" (median of the last {plural(runs, 'run')};"
        f" critical path {' -> '.join(result.critical_path)} ~{duration(result.critical_path_ms)})"
        + (f"; {plural(unknown, 'step')} without history count as 0" if unknown else "")
    )
    return 0
