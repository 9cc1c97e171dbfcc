"""`engine run PLAN`: validate, then run a plan, recording everything in the ledger."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from engine.cli.options import json_option, ledger_option, parse_vars, var_option
from engine.plan.loader import load_plan
from engine.plan.problems import InvalidPlan
from engine.states import ExitCode


@click.command("run")
@click.argument("plan_file", type=click.Path(path_type=Path))
@var_option
@click.option(
    "--max-concurrency", type=click.IntRange(min=1), help="Override globals.max_concurrency."
)
@click.option(
    "--env-file",
    type=click.Path(path_type=Path),
    help="NAME=value lines added to every step's environment.",
)
@click.option(
    "--secrets-file",
    type=click.Path(path_type=Path),
    help="NAME=value lines: values of the plan's secrets.",
)
@ledger_option
@json_option
@click.option("-q", "--quiet", is_flag=True, help="Print only the outcome.")
@click.option("--dry-run", is_flag=True, help="Print the waves and expected duration; run nothing.")
def command(
    plan_file: Path,
    var_pairs: tuple[str, ...],
    max_concurrency: int | None,
    env_file: Path | None,
    secrets_file: Path | None,
    ledger: str | None,
    as_json: bool,
    quiet: bool,
    dry_run: bool = False,
) -> int:
    """Run PLAN_FILE. Exit 0 when the run succeeds, 1 when it fails, 2 for an invalid plan."""
    from engine.ledger.location import resolve_ledger_path
    from engine.progress import make_reporter
    from engine.run.environment import read_env_file
    from engine.run.session import RunRequest, execute

    try:
        loaded = load_plan(plan_file, parse_vars(var_pairs))
    except InvalidPlan as error:
        for problem in error.problems:
            click.echo(problem.render(str(plan_file)), err=True)
        raise
    if dry_run:
        from engine.cli.dry_run import print_dry_run

        return print_dry_run(loaded, ledger, max_concurrency, as_json=as_json)
    request = RunRequest(
        loaded=loaded,
        ledger_path=resolve_ledger_path(ledger, create=True),
        max_concurrency=max_concurrency,
        env_file=read_env_file(env_file) if env_file else {},
        secrets_file=read_env_file(secrets_file, "--secrets-file") if secrets_file else {},
    )
    reporter = make_reporter(as_json=as_json, quiet=quiet)
    result = asyncio.run(execute(request, reporter))
    return int(result.exit_code if result.exit_code is not None else ExitCode.FAILED)
