"""`engine runs`: the run history, newest first, optionally filtered."""

from __future__ import annotations

import click

from engine.cli.options import json_option, ledger_option
from engine.cli.output import open_ledger, parse_since, print_json, print_table, status_text
from engine.humanize import clock_time, duration
from engine.ledger.json_shapes import run_json
from engine.ledger.records import RunSummary
from engine.states import ExitCode, RunStatus


@click.command("runs")
@click.option(
    "--status", type=click.Choice([str(s) for s in RunStatus]), help="Only runs in this state."
)
@click.option("--plan", metavar="NAME", help="Only runs of this plan.")
@click.option("--tag", metavar="TAG", help="Only runs of plans tagged TAG.")
@click.option("--since", metavar="WHEN", help="Only runs created since, e.g. 24h, 7d, 2026-11-20.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@ledger_option
@json_option
def command(
    status: str | None,
    plan: str | None,
    tag: str | None,
    since: str | None,
    limit: int,
    ledger: str | None,
    as_json: bool,
) -> int:
    """List runs, newest first."""
    with open_ledger(ledger) as reader:
        runs = reader.list_runs(
            status=None if status is None else RunStatus(status),
            plan=plan,
            since=None if since is None else parse_since(since),
            limit=limit,
            tag=tag,
        )
    if as_json:
        print_json([run_json(run) for run in runs])
        return int(ExitCode.OK)
    rows = [
        (
            run.id,
            run.plan_name,
            status_text(run.display_status),
            f"{run.steps_done}/{run.steps_total}",
            clock_time(run.created_at),
            duration(run.duration_ms),
            _note(run),
        )
        for run in runs
    ]
    print_table(("RUN", "PLAN", "STATUS", "STEPS", "CREATED (UTC)", "DURATION", "NOTE"), rows)
    return int(ExitCode.OK)


def _note(run: RunSummary) -> str:
    """What the NOTE column says: the group a run waits for, its error, or what it resumes."""
    if run.waiting is not None:
        return run.waiting.note()
    return run.error or ("resumes " + run.resumed_from if run.resumed_from else "")
