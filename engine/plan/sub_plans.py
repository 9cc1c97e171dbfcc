"""Sub-plans: a step with `plan` runs another plan file as a child run, and a plan's `outputs`.

The child plan is validated with the parent, so a broken child, or a cycle between plan files, is a
problem of the parent before anything runs; the child's declared `outputs` become what the step
provides, so that dependents reading them are checked as for any step.
"""

from __future__ import annotations

from contextvars import ContextVar
from pathlib import Path
from typing import Any

from engine.errors import PlanError
from engine.plan.problems import InvalidPlan, JsonPath, Problem
from engine.plan.spec import GROUPS, Plan
from engine.plan.variables import OutputRef, references, substitute_outputs

# The plan files being loaded, outermost first (resolved path, name as written): a cycle's proof.
_LOADING: ContextVar[tuple[tuple[str, str], ...]] = ContextVar("sub_plans_loading", default=())
_NOT_WITH_PLAN = ("command", "run", "args", "shell")


def check_steps(data: dict[str, Any], source: str, base_dir: Path, problems: list[Problem]) -> None:
    """Judge the plan steps (and `vars` elsewhere) of the dumped plan `data`, variables substituted:
    load each child plan, and fill in a plan step's `provides` from the child's outputs."""
    chain = _LOADING.get() or ((str(Path(source).resolve()), source),)
    loaded: dict[tuple[str, tuple[tuple[str, str], ...]], Plan | None] = {}
    for group in GROUPS:
        for index, step in enumerate(data[group]):
            where: JsonPath = (group, index)
            if step.get("plan") is None:
                if step.get("vars"):
                    problems.append(
                        Problem((*where, "vars"), "vars is given to the plan of a plan step only")
                    )
                continue
            for key in _NOT_WITH_PLAN:
                if step.get(key):
                    problems.append(
                        Problem(
                            (*where, key), f'step "{step["id"]}" runs a plan: it cannot have {key}'
                        )
                    )
            child_plan = _child(step, where, base_dir, chain, loaded, problems)
            if child_plan is not None:
                _take_outputs(step, where, child_plan, problems)


def _child(
    step: dict[str, Any],
    where: JsonPath,
    base_dir: Path,
    chain: tuple[tuple[str, str], ...],
    loaded: dict[tuple[str, tuple[tuple[str, str], ...]], Plan | None],
    problems: list[Problem],
) -> Plan | None:
    """The child plan, validated with the step's vars; None (with a problem) if it cannot be."""
    text = step["plan"]
    path_at: JsonPath = (*where, "plan")
    if any(isinstance(ref, OutputRef) for ref in references(text)):
        problems.append(Problem(path_at, "plan cannot read outputs: the file must be known"))
        return None
    path = (base_dir / substitute_outputs(text, {})).resolve()
    resolved = str(path)
    if any(resolved == seen for seen, _ in chain):
        names = [name for _, name in chain] + [text]
        problems.append(Problem(path_at, "sub-plan cycle: " + " -> ".join(names)))
        return None
    given = tuple(sorted(step.get("vars", {}).items()))
    key = (resolved, given)
    if key in loaded:
        return loaded[key]
    from engine.plan.loader import load_plan  # the loader calls this module

    token = _LOADING.set((*chain, (resolved, text)))
    child: Plan | None = None
    try:
        child = load_plan(path, dict(given)).plan
    except InvalidPlan as error:
        first = error.problems[0].render(error.source) if error.problems else str(error)
        more = f" (and {error.total - 1} more)" if error.total > 1 else ""
        problems.append(Problem(path_at, f"sub-plan {text} is not valid: {first}{more}"))
    except PlanError as error:
        problems.append(Problem(path_at, f"sub-plan {text}: {error}"))
    finally:
        _LOADING.reset(token)
    loaded[key] = child
    return child


def _take_outputs(
    step: dict[str, Any], where: JsonPath, child: Plan, problems: list[Problem]
) -> None:
    """A plan step provides its child plan's outputs; a `provides` it gives must be among them."""
    offered = list(child.outputs)
    if not step.get("provides"):
        step["provides"] = offered
        return
    for i, name in enumerate(step["provides"]):
        if name not in child.outputs:
            problems.append(
                Problem(
                    (*where, "provides", i),
                    f'the plan of step "{step["id"]}" has no output "{name}" '
                    f"(its outputs: {', '.join(offered) or 'none'})",
                )
            )


def output_problems(plan: Plan, main_provides: dict[str, tuple[str, ...]]) -> list[Problem]:
    """A plan output must name an output that a main step provides."""
    found: list[Problem] = []
    for name, text in plan.outputs.items():
        for ref in references(text):
            if not isinstance(ref, OutputRef):
                continue
            where: JsonPath = ("outputs", name)
            if ref.step_id not in main_provides:
                found.append(Problem(where, f'output "{name}" reads unknown step "{ref.step_id}"'))
            elif ref.name not in main_provides[ref.step_id]:
                found.append(
                    Problem(
                        where,
                        f'output "{name}" reads "{ref.name}", which step "{ref.step_id}" '
                        "does not provide",
                    )
                )
    return found
