"""`engine validate PLAN`: check a plan and report every problem, each with its path and line."""

from __future__ import annotations

import json
from pathlib import Path

import click

from engine.cli.options import json_option, parse_vars, var_option
from engine.errors import PlanError
from engine.plan.loader import load_plan
from engine.plan.problems import InvalidPlan, Problem
from engine.states import ExitCode


@click.command("validate")
@click.argument("plan_file", type=click.Path(path_type=Path, dir_okay=True))
@var_option
@json_option
def command(plan_file: Path, var_pairs: tuple[str, ...], as_json: bool) -> int:
    """Check PLAN_FILE without running it. Exit 0 when valid, 2 when not."""
    given = parse_vars(var_pairs)
    try:
        loaded = load_plan(plan_file, given)
    except InvalidPlan as error:
        return _report(str(plan_file), error.problems, as_json)
    except PlanError as error:
        if as_json:
            return _report(str(plan_file), [Problem((), error.message)], True)
        raise
    if as_json:
        click.echo(json.dumps({"valid": True, "plan": loaded.plan.name, "problems": []}))
    else:
        steps = len(loaded.plan.steps)
        noun = "step" if steps == 1 else "steps"
        click.echo(f"{plan_file}: valid plan {loaded.plan.name!r} ({steps} {noun})")
    return int(ExitCode.OK)


def _report(source: str, problems: list[Problem], as_json: bool) -> int:
    if as_json:
        document = {"valid": False, "problems": [p.as_json() for p in problems]}
        click.echo(json.dumps(document, indent=2))
    else:
        for problem in problems:
            click.echo(problem.render(source), err=True)
        noun = "problem" if len(problems) == 1 else "problems"
        click.echo(f"{source}: {len(problems)} {noun}", err=True)
    return int(ExitCode.USAGE)
