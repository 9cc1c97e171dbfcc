"""What `engine run` and `engine resume` share: their options and starting the run."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from engine.cli.options import json_option, ledger_option
from engine.plan.spec import LoadedPlan

F = TypeVar("F", bound=Callable[..., Any])


def run_options(func: F) -> F:
    """--max-concurrency, --env-file, --secrets-file, --deadline, --ledger, --json, --quiet,
    --no-wait, --force, --executor and --dask-address."""
    for option in reversed(
        [
            click.option(
                "--max-concurrency",
                type=click.IntRange(min=1),
                help="Override globals.max_concurrency.",
            ),
            click.option(
                "--env-file",
                type=click.Path(path_type=Path),
                help="NAME=value lines added to every step's environment.",
            ),
            click.option(
                "--secrets-file",
                type=click.Path(path_type=Path),
                help="NAME=value lines: values of the plan's secrets.",
            ),
            click.option(
                "--deadline",
                metavar="WHEN",
                help="Cut the run at WHEN, like a run timeout: 2026-12-05T06:00Z or +45m.",
            ),
            ledger_option,
            json_option,
            click.option("-q", "--quiet", is_flag=True, help="Print only the outcome."),
            click.option(
                "--no-wait",
                is_flag=True,
                help="If the plan's concurrency_group is taken, end at once (exit 75).",
            ),
            click.option(
                "--force",
                "force",
                multiple=True,
                is_flag=False,
                flag_value="*",
                metavar="[STEP]",
                callback=_not_a_plan_file,
                help="Run cached steps (or this one; repeatable) without reading the cache.",
            ),
            click.option(
                "--executor",
                type=click.Choice(["local", "dask"]),
                help="Where steps run (default: $ENGINE_EXECUTOR, globals.executor, local).",
            ),
            click.option(
                "--dask-address",
                metavar="ADDR",
                help="The Dask scheduler, e.g. tcp://host:8786 (default: $ENGINE_DASK_ADDRESS, "
                "else a LocalCluster for the run).",
            ),
        ]
    ):
        func = option(func)
    return func


def _not_a_plan_file(
    ctx: click.Context, param: click.Parameter, value: tuple[str, ...]
) -> tuple[str, ...]:
    """`engine run --force plan.json`: the plan file was taken as the step to force; say so
    rather than that the plan file is missing."""
    from engine.plan.document import is_yaml_file

    for name in value:
        if (name.lower().endswith(".json") or is_yaml_file(name)) and Path(name).is_file():
            raise click.UsageError(
                f"--force took the plan file {name} for the step to force; write --force after "
                "the plan file (engine run PLAN --force), or --force=STEP",
                ctx,
            )
    return value


def launch(
    loaded: LoadedPlan,
    ledger_path: Path,
    *,
    max_concurrency: int | None,
    env_file: Path | None,
    secrets_file: Path | None,
    deadline: str | None,
    as_json: bool,
    quiet: bool,
    no_wait: bool = False,
    resumed_from: str | None = None,
    reused: dict[str, dict[str, str]] | None = None,
    rerun_reasons: dict[str, str] | None = None,
    force: tuple[str, ...] = (),
    parent: tuple[str, str] | None = None,
    executor: str | None = None,
    dask_address: str | None = None,
) -> int:
    """Run `loaded` to the end with the chosen progress display; the run's exit code.

    The same run as `engine.run_plan`'s (engine.api.runner), with a display instead of a result.
    """
    from engine.api.options import RunOptions, forced_steps
    from engine.api.runner import run_for_cli
    from engine.cli import streams
    from engine.progress import make_reporter
    from engine.run.slots import concurrency_limit

    options = RunOptions(
        ledger=ledger_path,
        max_concurrency=max_concurrency,
        env_file=env_file,
        secrets_file=secrets_file,
        deadline=_deadline(loaded, ledger_path, deadline, max_concurrency),
        resumed_from=resumed_from,
        reused=reused or {},
        rerun_reasons=rerun_reasons or {},
        wait_for_group=not no_wait,
        force=forced_steps(force, loaded, "--force"),
        adopt_orphans=True,  # an `engine` process has no children but its steps
        parent=parent,
        executor=executor,
        dask_address=dask_address,
    )

    def expected_ms() -> int | None:
        from engine.run.dryrun import expected_run_ms

        return expected_run_ms(loaded, ledger_path, concurrency_limit(loaded, max_concurrency))

    hook_ids = {step.id for group in loaded.plan.hooks.values() for step in group}
    reporter = make_reporter(
        as_json=as_json, quiet=quiet, hook_ids=hook_ids, expected_ms=expected_ms
    )
    streams.keep_going()  # a closed stdout stops the printing, not the run
    return run_for_cli(loaded, ledger_path, options, reporter)


def _deadline(
    loaded: LoadedPlan, ledger_path: Path, text: str | None, max_concurrency: int | None
) -> datetime | None:
    """--deadline as a time; refused when past, with a warning when it leaves too little."""
    if text is None:
        return None
    from engine.api.deadline import check_window, parse_deadline
    from engine.cli.output import note

    deadline = parse_deadline(text)
    for warning in check_window(loaded, ledger_path, deadline, max_concurrency):
        note(f"warning: {warning}")
    return deadline
