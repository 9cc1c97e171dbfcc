"""`engine resume RUN_ID`: run a run's plan again, reusing the steps that already succeeded."""

from __future__ import annotations

from typing import Any

import click

from engine.cli.launch import launch, run_options
from engine.cli.options import parse_vars, run_id_argument, var_option
from engine.cli.output import note, open_ledger
from engine.errors import UserError


@click.command("resume")
@run_id_argument
@click.option("--step", "steps", multiple=True, metavar="ID", help="Re-run this step (repeatable).")
@click.option("--downstream", is_flag=True, help="Also re-run what depends on the --step steps.")
@var_option
@run_options
def command(
    run_id: str,
    steps: tuple[str, ...],
    downstream: bool,
    var_pairs: tuple[str, ...],
    ledger: str | None,
    **options: Any,
) -> int:
    """Start a new run of RUN_ID's plan that reuses its succeeded steps and re-runs the rest."""
    from engine.run.resume import plan_resume

    if downstream and not steps:
        raise UserError("--downstream needs at least one --step.")
    with open_ledger(ledger) as reader:
        full_id = reader.resolve_run_id(run_id)
        resume = plan_resume(
            reader, full_id, selected=steps, downstream=downstream,
            overrides=parse_vars(var_pairs),
        )  # fmt: skip
        path = reader.path
    note(
        f"resuming run {full_id}: reusing {len(resume.reused)} steps,"
        f" re-running {len(resume.rerun_reasons)}"
    )
    return launch(
        resume.loaded, path, resumed_from=full_id, reused=resume.reused,
        rerun_reasons=resume.rerun_reasons, **options,
    )  # fmt: skip
