"""`engine resume RUN_ID`: run a run's plan again, reusing the steps that already succeeded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from engine.cli.launch import launch, run_options
from engine.cli.options import parse_vars, run_id_argument, var_option
from engine.cli.output import note, open_ledger
from engine.errors import UserError
from engine.humanize import plural


@click.command("resume")
@run_id_argument
@click.option("--step", "steps", multiple=True, metavar="ID", help="Re-run this step (repeatable).")
@click.option("--downstream", is_flag=True, help="Also re-run what depends on the --step steps.")
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(path_type=Path),
    help="Resume with this (edited) plan: changed steps and what depends on them re-run.",
)
@var_option
@run_options
def command(
    run_id: str,
    steps: tuple[str, ...],
    downstream: bool,
    plan_file: Path | None,
    var_pairs: tuple[str, ...],
    ledger: str | None,
    **options: Any,
) -> int:
    """Start a new run of RUN_ID's plan that reuses its succeeded steps and re-runs the rest."""
    from engine.run.resume import load_edited, plan_resume

    if downstream and not steps:
        raise UserError("--downstream needs at least one --step.")
    overrides = parse_vars(var_pairs)
    with open_ledger(ledger) as reader:
        full_id = reader.resolve_run_id(run_id)
        edited = None if plan_file is None else load_edited(reader, full_id, plan_file, overrides)
        resume = plan_resume(
            reader, full_id, plan=edited, selected=steps, downstream=downstream,
            overrides=overrides,
        )  # fmt: skip
        path = reader.path
    dropped = f", dropping {len(resume.dropped)} no longer in the plan" if resume.dropped else ""
    note(
        f"resuming run {full_id}: reusing {plural(len(resume.reused), 'step')},"
        f" re-running {len(resume.rerun_reasons)}{dropped}"
    )
    return launch(
        resume.loaded, path, resumed_from=full_id, reused=resume.reused,
        rerun_reasons=resume.rerun_reasons, **options,
    )  # fmt: skip
