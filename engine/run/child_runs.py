"""A plan step runs its plan as a child `engine run` process, and a child hands its outputs back.

A child process rather than a second run in this process: the child gets everything a run has
(its own signal handling, owner and crash recovery, progress in the step's log) from the code that
gives it to every run, and cancel and timeout reach it as the SIGTERM any step gets
(docs/plans.md, "Sub-plans", has the measured cost).
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Mapping

from engine.plan.spec import Plan, Step
from engine.plan.variables import substitute_outputs


def child_argv(
    step: Step,
    outputs: Mapping[tuple[str, str], str],
    base_dir: str,
    ledger_path: str,
    run_id: str,
) -> tuple[str, ...]:
    """`engine run PLAN --var ...` for a plan step, on this run's ledger, linked to the step."""
    assert step.plan is not None
    plan = os.path.join(base_dir, substitute_outputs(step.plan, outputs))
    argv = [sys.executable, "-m", "engine", "run", plan, "--ledger", ledger_path]
    argv += ["--parent", f"{run_id}:{step.id}"]
    for name, value in step.vars.items():
        argv += ["--var", f"{name}={substitute_outputs(value, outputs)}"]
    return tuple(argv)


def parse_parent(text: str) -> tuple[str, str]:
    """`RUN_ID:STEP_ID` (a run id has no colon, a matrix step id may) as the pair."""
    run_id, colon, step_id = text.partition(":")
    if not colon or not run_id or not step_id:
        raise ValueError(f"--parent {text}: expected RUN_ID:STEP_ID")
    return run_id, step_id


def plan_outputs(plan: Plan, outputs: Mapping[tuple[str, str], str]) -> dict[str, str]:
    """The plan's declared outputs from its steps' outputs; one whose step gave none is left out."""
    found: dict[str, str] = {}
    for name, template in plan.outputs.items():
        try:
            found[name] = substitute_outputs(template, outputs)
        except KeyError:
            continue
    return found


def write_outputs(path: str, values: Mapping[str, str]) -> None:
    """Append `values` to an `$ENGINE_OUTPUT` file in its multi-line form, safe for any value."""
    with open(path, "a", encoding="utf-8") as handle:
        for name, value in values.items():
            delimiter = f"ENGINE_EOF_{secrets.token_hex(8)}"
            handle.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def hand_outputs_to_parent(plan: Plan, outputs: Mapping[tuple[str, str], str]) -> None:
    """A child run's plan outputs become its plan step's: written to the step's $ENGINE_OUTPUT."""
    path = os.environ.get("ENGINE_OUTPUT")
    if path:
        write_outputs(path, plan_outputs(plan, outputs))
