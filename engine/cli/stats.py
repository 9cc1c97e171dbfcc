"""`engine stats [--since]`: totals, success rate, durations, flakiest and slowest steps."""

from __future__ import annotations

import click

from engine.cli.options import json_option, ledger_option
from engine.cli.output import open_ledger, parse_since, percent, print_json, print_table
from engine.humanize import duration
from engine.ledger.json_shapes import stats_json
from engine.ledger.records import StepStats
from engine.states import ExitCode


@click.command("stats")
@click.option("--since", default="24h", show_default=True, help="Window start: 1h, 7d, a date.")
@click.option("--top", type=click.IntRange(min=1), default=5, show_default=True)
@ledger_option
@json_option
def command(since: str, top: int, ledger: str | None, as_json: bool) -> int:
    """Summarise the runs created in a window of time."""
    with open_ledger(ledger) as reader:
        stats = reader.stats(parse_since(since), top=top)
    if as_json:
        print_json(stats_json(stats))
        return int(ExitCode.OK)
    by_status = ", ".join(f"{n} {status}" for status, n in sorted(stats.runs_by_status.items()))
    click.echo(f"runs      {stats.runs_total}" + (f" ({by_status})" if by_status else ""))
    click.echo(f"success   {percent(stats.success_rate)} of finished runs")
    if stats.plans:
        click.echo()
        rows = [
            (p.plan_name, str(p.runs), percent(p.failure_rate), duration(p.p50_ms),
             duration(p.p95_ms))
            for p in stats.plans
        ]  # fmt: skip
        print_table(("PLAN", "RUNS", "FAILED", "P50", "P95"), rows)
    for title, steps in (("flakiest", stats.flakiest_steps), ("slowest", stats.slowest_steps)):
        if steps:
            click.echo()
            print_table(("PLAN", "STEP", "RUNS", "FAILED", "RETRIED", "P50", "P95"),
                        [_step_row(s) for s in steps], title=f"{title} steps")  # fmt: skip
    return int(ExitCode.OK)


def _step_row(s: StepStats) -> tuple[str, ...]:
    return (
        s.plan_name,
        s.step_id,
        str(s.runs),
        percent(s.failure_rate),
        percent(s.retry_rate),
        duration(s.p50_ms),
        duration(s.p95_ms),
    )
