"""Load a plan: read, judge its structure, substitute variables, check the whole, or say what is
wrong; a valid plan comes out as the runtime model of engine.plan.spec."""

from __future__ import annotations

import contextlib
import gc
import hashlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from engine.errors import PlanError
from engine.plan.checks import CheckResult, check_plan, step_strings
from engine.plan.document import is_yaml_file, parse_plan, read_plan_text
from engine.plan.locate import LineIndex
from engine.plan.model import Plan
from engine.plan.problems import MAX_SHOWN_PROBLEMS, InvalidPlan, JsonPath, Problem
from engine.plan.spec import GROUPS, LoadedPlan, canonical_json, plan_from_dict
from engine.plan.spec import Plan as PlanSpec
from engine.plan.variables import (
    BadRef,
    MatrixRef,
    VarRef,
    references,
    substitute_vars,
    var_text,
)


def load_plan(path: Path, given_vars: Mapping[str, str] | None = None) -> LoadedPlan:
    """Load the plan file at `path`; PlanError or InvalidPlan (listing every problem) otherwise."""
    return load_text(read_plan_text(path), path, given_vars or {})


def load_text(text: str, path: Path, given_vars: Mapping[str, str]) -> LoadedPlan:
    """Load a plan file's text, already read from `path`."""
    source = str(path)
    document = parse_plan(text, source)
    return load_document(document, source, path.resolve().parent, given_vars, text)


def load_document(
    document: dict[str, Any],
    source: str,
    base_dir: Path,
    given_vars: Mapping[str, str],
    text: str | None = None,
) -> LoadedPlan:
    with _collector_paused():
        return _load(document, source, base_dir, given_vars, text)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a plan is loaded.

    Loading allocates many objects and frees few, so each collection rescans a growing heap for
    nothing: at 10,000 steps that doubled the time and made it grow faster than the plan.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _load(
    document: dict[str, Any],
    source: str,
    base_dir: Path,
    given_vars: Mapping[str, str],
    text: str | None,
) -> LoadedPlan:
    rejected: tuple[list[Problem], int] | None = None
    try:
        plan = Plan.model_validate(document)
    except ValidationError as error:
        rejected = _structure_problems(document, error)
    if rejected is not None:
        # Out here, so the models' error (every failure of a bad 10 MB plan) is freed first
        # rather than kept as the new error's context.
        problems, total = rejected
        if total < MAX_SHOWN_PROBLEMS:
            # A schema error does not hide the rest: the checks run on a repaired copy of the
            # plan. Past the cap nothing more would be shown, so the repair is not paid for.
            from engine.plan.salvage import semantic_problems

            def check(repaired: Plan) -> list[Problem]:
                return _semantics(repaired, given_vars, source, base_dir)[0]

            semantic = semantic_problems(document, check, problems)
            problems, total = problems + semantic, total + len(semantic)
        raise _invalid(problems, source, text, total)
    problems, values, runtime, result = _semantics(plan, given_vars, source, base_dir)
    if problems:
        raise _invalid(problems, source, text)
    canonical = canonical_json(document)
    try:
        digest = hashlib.sha256(canonical.encode()).hexdigest()
    except UnicodeEncodeError as error:  # a plan built in code, with undecodable bytes' escapes
        bad = canonical[max(error.start - 20, 0) : error.end + 20]
        raise PlanError(f"{source}: the plan holds text that is not UTF-8: ...{bad!r}...") from None
    warnings = tuple(_locate(result.warnings, source, text)) if result.warnings else ()
    return LoadedPlan(runtime, source, base_dir, values, document, digest, result.graphs, warnings)


def _semantics(
    plan: Plan, given_vars: Mapping[str, str], source: str, base_dir: Path
) -> tuple[list[Problem], dict[str, str], PlanSpec, CheckResult]:
    """Variables, substitution and the whole-plan checks of a plan the schema accepts."""
    problems: list[Problem] = []
    values = _resolve_vars(plan, given_vars, problems)
    # From here on the plan is plain data: substituting in a dict and checking the runtime model
    # costs a fraction of copying 10,000 pydantic models.
    data = plan.model_dump(exclude={"schema_uri"})
    expansion = None
    if any(step.matrix is not None for step in plan.all_steps()):
        from engine.plan.matrix import expand_matrices

        expansion = expand_matrices(data)
    _substitute(data, plan, values, problems)
    linked = plan.outputs or any(s.plan is not None or s.vars for s in plan.all_steps())
    if linked:
        from engine.plan.sub_plans import check_steps

        check_steps(data, source, base_dir, problems)
    runtime = plan_from_dict(data)
    result = check_plan(runtime)
    problems.extend(result.problems)
    if runtime.outputs:
        from engine.plan.sub_plans import output_problems

        provides = {step.id: step.provides for step in runtime.steps}
        problems.extend(output_problems(runtime, provides))
    if expansion is not None:
        problems = expansion.problems + expansion.translate(problems)
    return problems, values, runtime, result


def _structure_problems(
    document: dict[str, Any], error: ValidationError
) -> tuple[list[Problem], int]:
    from engine.plan.schema import schema_problems

    problems, total = schema_problems(document)
    if problems:
        return problems, total
    # The models and the schema agree (a test proves it); this is only a safety net.
    shown = error.errors(include_input=False, include_url=False)[:MAX_SHOWN_PROBLEMS]
    return [Problem(tuple(e["loc"]), e["msg"]) for e in shown], error.error_count()


def _invalid(
    problems: list[Problem], source: str, text: str | None, total: int | None = None
) -> InvalidPlan:
    total = max(total or 0, len(problems))
    return InvalidPlan(_locate(problems[:MAX_SHOWN_PROBLEMS], source, text), source, total)


def _locate(problems: list[Problem], source: str, text: str | None) -> list[Problem]:
    """The problems with their lines in the file, in file order."""
    if text is not None and is_yaml_file(source):
        from engine.plan.yaml_document import YamlLineIndex

        yaml_index = YamlLineIndex(text)
        problems = [p.placed(yaml_index.position_of(p.path)) for p in problems]
        problems.sort(key=lambda p: (p.line or 0, p.file_column or 0))
    elif text is not None:
        index = LineIndex(text)
        problems = [p.located(index.line_of(p.path)) for p in problems]
        problems.sort(key=lambda p: p.line or 0)  # in file order; stable within a line
    return problems


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


def _substitute(
    data: dict[str, Any], plan: Plan, values: dict[str, str], problems: list[Problem]
) -> None:
    """Replace variable references in the strings of the dumped plan `data`, in place."""
    secrets = {spec.name for spec in plan.secret_specs}

    def resolve(ref: VarRef) -> str | None:
        return values.get(ref.name, ref.default)

    def substituted(path: JsonPath, text: str) -> str:
        for ref in references(text):
            if isinstance(ref, MatrixRef):  # those of a matrix step were replaced already
                problems.append(
                    Problem(path, f"${{matrix.{ref.name}}} is used outside a step with a matrix")
                )
            elif isinstance(ref, BadRef):
                problems.append(
                    Problem(
                        path,
                        f"bad reference ${{{ref.text}}}: use ${{NAME}}, ${{NAME:-default}} "
                        "or ${steps.ID.outputs.NAME} (with .FIELD for a field of a JSON output)",
                    )
                )
            elif (
                isinstance(ref, VarRef)
                and resolve(ref) is None
                and ref.name not in plan.vars  # declared but required: reported once, above
                and ref.name not in secrets
            ):
                problems.append(
                    Problem(
                        path,
                        f"undefined variable ${{{ref.name}}} "
                        f"(declare it in vars or pass --var {ref.name}=VALUE)",
                    )
                )
        return substitute_vars(text, resolve)

    for group in GROUPS:
        for index, step in enumerate(data[group]):
            where: JsonPath = (group, index)
            if step["command"] is not None:
                step["command"] = substituted((*where, "command"), step["command"])
            if step["run"] is not None:
                step["run"] = substituted((*where, "run"), step["run"])
            if step["plan"] is not None:
                step["plan"] = substituted((*where, "plan"), step["plan"])
                step["vars"] = {
                    k: substituted((*where, "vars", k), v) for k, v in step["vars"].items()
                }
            step["args"] = [substituted((*where, "args", i), a) for i, a in enumerate(step["args"])]
            if step["cwd"] is not None:
                step["cwd"] = substituted((*where, "cwd"), step["cwd"])
            step["env"] = {k: substituted((*where, "env", k), v) for k, v in step["env"].items()}
            if isinstance(circuit := step.get("circuit"), dict) and circuit.get("key"):
                circuit["key"] = substituted((*where, "circuit", "key"), circuit["key"])
            if isinstance(cache := step.get("cache"), dict) and cache.get("inputs"):
                cache["inputs"] = [
                    substituted((*where, "cache", "inputs", i), pattern)
                    for i, pattern in enumerate(cache["inputs"])
                ]
    if data.get("concurrency_group") is not None:
        data["concurrency_group"] = substituted(("concurrency_group",), data["concurrency_group"])
    data["outputs"] = {k: substituted(("outputs", k), v) for k, v in data["outputs"].items()}
    env = data["globals"]["env"]
    data["globals"]["env"] = {k: substituted(("globals", "env", k), v) for k, v in env.items()}
