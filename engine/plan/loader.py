"""Load a plan: read, judge its structure, substitute variables, check the whole, or say what is
wrong; a valid plan comes out as the runtime model of engine.plan.spec."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from engine.plan.checks import check_plan, step_strings
from engine.plan.document import parse_document, read_plan_text
from engine.plan.locate import LineIndex
from engine.plan.model import Plan, Step
from engine.plan.problems import InvalidPlan, JsonPath, Problem
from engine.plan.spec import GROUPS, LoadedPlan, canonical_json, graphs_of, plan_from_dict
from engine.plan.variables import BadRef, VarRef, references, substitute_vars, var_text


def load_plan(path: Path, given_vars: Mapping[str, str] | None = None) -> LoadedPlan:
    """Load the plan file at `path`; PlanError or InvalidPlan (listing every problem) otherwise."""
    return load_text(read_plan_text(path), path, given_vars or {})


def load_text(text: str, path: Path, given_vars: Mapping[str, str]) -> LoadedPlan:
    """Load a plan file's text, already read from `path`."""
    source = str(path)
    document = parse_document(text, source)
    return load_document(document, source, path.resolve().parent, given_vars, text)


def load_document(
    document: dict[str, Any],
    source: str,
    base_dir: Path,
    given_vars: Mapping[str, str],
    text: str | None = None,
) -> LoadedPlan:
    try:
        plan = Plan.model_validate(document)
    except ValidationError as error:
        raise _invalid(_structure_problems(document, error), source, text) from None
    problems: list[Problem] = []
    values = _resolve_vars(plan, given_vars, problems)
    plan = _substitute(plan, values, problems)
    result = check_plan(plan)
    problems.extend(result.problems)
    if problems:
        raise _invalid(problems, source, text)
    digest = hashlib.sha256(canonical_json(document).encode()).hexdigest()
    runtime = plan_from_dict(plan.model_dump(exclude={"schema_uri"}))
    return LoadedPlan(runtime, source, base_dir, values, document, digest, graphs_of(runtime))


def _structure_problems(document: dict[str, Any], error: ValidationError) -> list[Problem]:
    from engine.plan.schema import schema_problems

    problems = schema_problems(document)
    if problems:
        return problems
    # The models and the schema agree (a test proves it); this is only a safety net.
    return [Problem(tuple(e["loc"]), e["msg"]) for e in error.errors()]


def _invalid(problems: list[Problem], source: str, text: str | None) -> InvalidPlan:
    if text is not None:
        index = LineIndex(text)
        problems = [p.located(index.line_of(p.path)) for p in problems]
        problems.sort(key=lambda p: p.line or 0)  # in file order; stable within a line
    return InvalidPlan(problems, source)


def _resolve_vars(plan: Plan, given: Mapping[str, str], problems: list[Problem]) -> dict[str, str]:
    """Declared defaults overridden by --var; a required variable that is not given is a problem."""
    referenced = {
        ref.name
        for step in plan.all_steps()
        for _, text in step_strings(step, ())
        for ref in references(text)
        if isinstance(ref, VarRef)
    } | {
        ref.name
        for text in plan.globals.env.values()
        for ref in references(text)
        if isinstance(ref, VarRef)
    }
    for name in given:
        if name not in plan.vars and name not in referenced:
            problems.append(Problem(("vars",), f"--var {name}: the plan has no variable {name}"))
    values: dict[str, str] = {}
    for name, default in plan.vars.items():
        value = given.get(name, var_text(default))
        if value is None:
            problems.append(
                Problem(("vars", name), f"variable {name} has no default; pass --var {name}=VALUE")
            )
        else:
            values[name] = value
    values.update({k: v for k, v in given.items() if k not in values})
    return values


def _substitute(plan: Plan, values: dict[str, str], problems: list[Problem]) -> Plan:
    def resolve(ref: VarRef) -> str | None:
        return values.get(ref.name, ref.default)

    def substituted(path: JsonPath, text: str) -> str:
        for ref in references(text):
            if isinstance(ref, BadRef):
                problems.append(
                    Problem(
                        path,
                        f"bad reference ${{{ref.text}}}: use ${{NAME}}, ${{NAME:-default}} "
                        "or ${steps.ID.outputs.NAME}",
                    )
                )
            elif (
                isinstance(ref, VarRef)
                and resolve(ref) is None
                and ref.name not in plan.vars  # declared but required: reported once, above
                and ref.name not in {s.name for s in plan.secret_specs}
            ):
                problems.append(
                    Problem(
                        path,
                        f"undefined variable ${{{ref.name}}} "
                        f"(declare it in vars or pass --var {ref.name}=VALUE)",
                    )
                )
        return substitute_vars(text, resolve)

    def step(s: Step, where: JsonPath) -> Step:
        return s.model_copy(
            update={
                "command": substituted((*where, "command"), s.command),
                "args": [substituted((*where, "args", i), a) for i, a in enumerate(s.args)],
                "cwd": None if s.cwd is None else substituted((*where, "cwd"), s.cwd),
                "env": {k: substituted((*where, "env", k), v) for k, v in s.env.items()},
            }
        )

    update: dict[str, Any] = {
        group: [step(s, (group, i)) for i, s in enumerate(getattr(plan, group))] for group in GROUPS
    }
    env = {k: substituted(("globals", "env", k), v) for k, v in plan.globals.env.items()}
    update["globals"] = plan.globals.model_copy(update={"env": env})
    return plan.model_copy(update=update)
