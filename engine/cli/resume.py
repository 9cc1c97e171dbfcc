"""`engine resume RUN_ID`: run a run's plan again, reusing the steps that already succeeded."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from engine.cli.options import json_option, ledger_option, parse_vars, var_option
from engine.cli.output import note, open_ledger
from engine.errors import UserError
from engine.plan.problems import InvalidPlan


@click.command("resume")
@click.argument("run_id")
@click.option("--step", "steps", multiple=True, metavar="ID", help="Re-run this step (repeatable).")
@click.option("--downstream", is_flag=True, help="Also re-run what depends on the --step steps.")
@var_option
@click.option("--max-concurrency", type=click.IntRange(min=1), help="Override max_concurrency.")
@click.option("--env-file", type=click.Path(path_type=Path), help="NAME=value lines for steps.")
@click.option("--secrets-file", type=click.Path(path_type=Path), help="Values of the secrets.")
@ledger_option
@json_option
@click.option("-q", "--quiet", is_flag=True, help="Print only the outcome.")
def command(
    run_id: str,
    steps: tuple[str, ...],
    downstream: bool,
    var_pairs: tuple[str, ...],
    max_concurrency: int | None,
    env_file: Path | None,
    secrets_file: Path | None,
    ledger: str | None,
    as_json: bool,
    quiet: bool,
) -> int:
    """Start a new run of RUN_ID's plan that reuses its succeeded steps and re-runs the rest."""
    from engine.progress import make_reporter
    from engine.run.environment import read_env_file
    from engine.run.resume import plan_resume
    from engine.run.session import RunRequest, execute

    if downstream and not steps:
        raise UserError("--downstream needs at least one --step.")
    with open_ledger(ledger) as reader:
        full_id = reader.resolve_run_id(run_id)
        try:
            resume = plan_resume(
                reader, full_id, selected=steps, downstream=downstream,
                overrides=parse_vars(var_pairs),
            )  # fmt: skip
        except InvalidPlan as error:
            for problem in error.problems:
                click.echo(problem.render(error.source or full_id), err=True)
            raise
        path = reader.path
    note(
        f"resuming run {full_id}: reusing {len(resume.reused)} steps,"
        f" re-running {len(resume.rerun_reasons)}"
    )
    request = RunRequest(
        loaded=resume.loaded,
        ledger_path=path,
        max_concurrency=max_concurrency,
        env_file=read_env_file(env_file) if env_file else {},
        secrets_file=read_env_file(secrets_file, "--secrets-file") if secrets_file else {},
        resumed_from=full_id,
        reused=resume.reused,
        rerun_reasons=resume.rerun_reasons,
    )
    result = asyncio.run(execute(request, make_reporter(as_json=as_json, quiet=quiet)))
    return int(result.exit_code)
