"""`engine run PLAN`: validate, then run a plan, recording everything in the ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from engine.cli.launch import launch, run_options
from engine.cli.options import parse_vars, var_option
from engine.plan.cache import load_plan_cached


@click.command("run")
@click.argument("plan_file", type=click.Path(path_type=Path))
@var_option
@run_options
@click.option("--dry-run", is_flag=True, help="Print the waves and expected duration; run nothing.")
# Given by the engine to the child run of a plan step (docs/plans.md, "Sub-plans").
@click.option("--parent", "parent_text", metavar="RUN_ID:STEP_ID", hidden=True)
def command(
    plan_file: Path,
    var_pairs: tuple[str, ...],
    ledger: str | None,
    as_json: bool,
    dry_run: bool,
    parent_text: str | None,
    **options: Any,
) -> int:
    """Run PLAN_FILE. Exit 0 when the run succeeds, 1 when it fails, 2 for an invalid plan."""
    from engine.ledger.location import resolve_ledger_path

    given = parse_vars(var_pairs)
    if dry_run:
        from engine.cli.dry_run import print_dry_run
        from engine.plan.loader import load_plan

        loaded = load_plan(plan_file, given)
        return print_dry_run(loaded, ledger, options["max_concurrency"], as_json=as_json)
    path = resolve_ledger_path(ledger, create=True)
    loaded = load_plan_cached(plan_file, given, cache_dir=path.parent / "cache")
    parent = None
    if parent_text is not None:
        from engine.run.child_runs import parse_parent

        try:
            parent = parse_parent(parent_text)
        except ValueError as error:
            raise click.UsageError(str(error)) from None
    return launch(loaded, path, as_json=as_json, parent=parent, **options)
