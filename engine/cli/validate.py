"""`engine validate PLAN...`: check plans and report every problem, each with its path and line."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from engine.cli.options import json_option, parse_vars, var_option
from engine.errors import PlanError
from engine.plan.loader import load_plan
from engine.plan.problems import InvalidPlan, Problem
from engine.states import ExitCode


@click.command("validate")
@click.argument("plan_files", nargs=-1, required=True, type=click.Path(path_type=Path))
@var_option
@json_option
def command(plan_files: tuple[Path, ...], var_pairs: tuple[str, ...], as_json: bool) -> int:
    """Check each PLAN_FILE without running it. Exit 0 when all are valid, 2 when any is not."""
    given = parse_vars(var_pairs)
    verdicts = [_judge(path, given, as_json) for path in plan_files]
    invalid = sum(not verdict["valid"] for verdict in verdicts)
    if as_json and len(verdicts) == 1:  # one plan: its verdict alone, as before many were allowed
        click.echo(json.dumps({k: v for k, v in verdicts[0].items() if k != "file"}, indent=2))
    elif as_json:
        click.echo(json.dumps(verdicts, indent=2))
    elif len(verdicts) > 1 and invalid:
        verb = "is" if invalid == 1 else "are"
        click.echo(f"engine: {invalid} of {len(verdicts)} plans {verb} invalid", err=True)
    return int(ExitCode.USAGE if invalid else ExitCode.OK)


def _judge(plan_file: Path, given: dict[str, str], as_json: bool) -> dict[str, Any]:
    """Load one plan and print its verdict (unless JSON is asked for); return it as JSON data."""
    source = str(plan_file)
    try:
        loaded = load_plan(plan_file, given)
    except InvalidPlan as error:
        return _report(source, error, as_json)
    except PlanError as error:
        if not as_json:
            click.echo(f"engine: {error.message}", err=True)
        return {"file": source, "valid": False, "problems": [Problem((), error.message).as_json()]}
    if not as_json:
        for warning in loaded.warnings:
            click.echo(
                replace(warning, message=f"warning: {warning.message}").render(source), err=True
            )
        steps = len(loaded.plan.steps)
        noun = "step" if steps == 1 else "steps"
        click.echo(f"{plan_file}: valid plan {loaded.plan.name!r} ({steps} {noun})")
    verdict = {"file": source, "valid": True, "plan": loaded.plan.name, "problems": []}
    if loaded.warnings:
        verdict["warnings"] = [warning.as_json() for warning in loaded.warnings]
    return verdict


def _report(source: str, error: InvalidPlan, as_json: bool) -> dict[str, Any]:
    if not as_json:
        for problem in error.problems:
            click.echo(problem.render(source), err=True)
        click.echo(f"{source}: {error.count_text()}", err=True)
    verdict: dict[str, Any] = {"file": source, "valid": False}
    verdict["problems"] = [p.as_json() for p in error.problems]
    if error.total > len(error.problems):
        verdict["problems_total"] = error.total
    return verdict
