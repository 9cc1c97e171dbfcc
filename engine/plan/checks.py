"""Checks that need the whole plan: ids, dependencies, cycles, fallbacks, outputs, secrets and
expressions.

Each check appends problems and carries on, so `engine validate` reports everything at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from engine.plan.concurrency_checks import check_concurrency
from engine.plan.expressions import (
    ExpressionError,
    check_expression,
    lint_expression,
    parse_expression,
)
from engine.plan.graph import StepGraph
from engine.plan.problems import JsonPath, Problem, format_path
from engine.plan.scripts import interpreter
from engine.plan.spec import GROUPS, Plan, Step, duration_sec
from engine.plan.variables import OutputRef, VarRef, references


@dataclass
class CheckResult:
    problems: list[Problem] = field(default_factory=list)
    graphs: dict[str, StepGraph[Step]] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)  # the plan is valid nonetheless

    def add(self, path: JsonPath, message: str, column: int | None = None) -> None:
        self.problems.append(Problem(path, message, column=column))


class StepStrings(Protocol):
    """The fields of a step in which `${...}` is substituted (pydantic model or runtime model)."""

    @property
    def command(self) -> str | None: ...
    @property
    def run(self) -> str | None: ...
    @property
    def args(self) -> Sequence[str]: ...
    @property
    def cwd(self) -> str | None: ...
    @property
    def env(self) -> Mapping[str, str]: ...
    @property
    def plan(self) -> str | None: ...
    @property
    def vars(self) -> Mapping[str, str]: ...


def step_strings(step: StepStrings, where: JsonPath) -> Iterator[tuple[JsonPath, str]]:
    """Every string of a step in which `${...}` references are substituted, with its path."""
    if step.command:
        yield (*where, "command"), step.command
    if step.run is not None:
        yield (*where, "run"), step.run
    for i, arg in enumerate(step.args):
        yield (*where, "args", i), arg
    if step.cwd is not None:
        yield (*where, "cwd"), step.cwd
    for key, value in step.env.items():
        yield (*where, "env", key), value
    if step.plan is not None:
        yield (*where, "plan"), step.plan
        for key, value in step.vars.items():
            yield (*where, "vars", key), value


def check_plan(plan: Plan) -> CheckResult:
    result = CheckResult()
    first_seen: dict[str, JsonPath] = {}
    for group in GROUPS:
        for index, step in enumerate(getattr(plan, group)):
            path: JsonPath = (group, index, "id")
            if step.id in first_seen:
                first = format_path(first_seen[step.id])
                result.add(path, f'duplicate step id "{step.id}" (first at {first})')
            else:
                first_seen[step.id] = path
    declared_secrets = _check_secrets(plan, result)
    _check_globals_env(plan, declared_secrets, result)
    check_concurrency(plan, declared_secrets, result)
    for group in GROUPS:
        steps = getattr(plan, group)
        graph = StepGraph(steps)
        result.graphs[group] = graph
        _check_dependencies(group, steps, graph, first_seen, result)
        _check_fallbacks(group, steps, graph, result)
    main = result.graphs["steps"]
    for group in GROUPS:
        graph = result.graphs[group]
        hook_of = main if group != "steps" else None  # hooks may also see every main step
        known = set(graph.steps) | (set(main.steps) if hook_of else set())
        for index, step in enumerate(getattr(plan, group)):
            where: JsonPath = (group, index)
            _check_step_kind(step, where, result)
            _check_outputs(step, where, graph, hook_of, result)
            _check_secret_use(step, where, declared_secrets, result)
            if step.cache is not None:
                _check_cache_inputs(step.cache.inputs, (*where, "cache", "inputs"), result)
                _check_cache_env(step.cache.env, (*where, "cache", "env"), declared_secrets, result)
            _check_durations(step, where, result)
            _check_expressions(plan, step, where, graph, hook_of, known, result)
    return result


def _check_secrets(plan: Plan, result: CheckResult) -> set[str]:
    declared: set[str] = set()
    for index, spec in enumerate(plan.secret_specs):
        if spec.name in declared:
            result.add(("secrets", index), f'secret "{spec.name}" is declared twice')
        declared.add(spec.name)
    return declared


def _check_globals_env(plan: Plan, declared_secrets: set[str], result: CheckResult) -> None:
    """globals.env is one environment for every step: it cannot hold a step's output or a secret."""
    for key, text in plan.globals.env.items():
        for ref in references(text):
            if isinstance(ref, OutputRef):
                result.add(
                    ("globals", "env", key),
                    f"globals.env cannot read outputs (steps.{ref.step_id}.outputs.{ref.name}); "
                    "set it in the env of the steps that need it",
                )
            elif isinstance(ref, VarRef) and ref.name in declared_secrets:
                result.add(
                    ("globals", "env", key),
                    f'secret "{ref.name}" cannot be substituted into globals.env: a step sees '
                    "a secret only as an environment variable (list it in the step's secrets)",
                )


def _check_dependencies(
    group: str,
    steps: Sequence[Step],
    graph: StepGraph[Step],
    ids: dict[str, JsonPath],
    result: CheckResult,
) -> None:
    for index, step in enumerate(steps):
        for k, dep in enumerate(step.depends_on):
            if dep in graph.steps:
                continue
            path = (group, index, "depends_on", k)
            if dep in ids:
                result.add(path, f'step "{step.id}" depends on "{dep}", which is not in {group}')
            else:
                result.add(path, f'step "{step.id}" depends on unknown step "{dep}"')
    positions: dict[str, int] = {}
    for i, step in enumerate(steps):
        positions.setdefault(step.id, i)  # the step the graph kept, not a later duplicate
    for cycle in graph.cycles():
        result.add(
            (group, positions[cycle[0]], "depends_on"),
            "dependency cycle: " + " -> ".join(cycle),
        )


def _check_fallbacks(
    group: str, steps: Sequence[Step], graph: StepGraph[Step], result: CheckResult
) -> None:
    primaries: dict[str, str] = {}
    for index, step in enumerate(steps):
        target = step.fallback
        if target is None:
            continue
        path = (group, index, "fallback")
        if target == step.id:
            result.add(path, f'step "{step.id}" cannot be its own fallback')
        elif target not in graph.steps:
            result.add(path, f'step "{step.id}" names unknown fallback "{target}" (not in {group})')
        elif target in primaries:
            result.add(path, f'"{target}" is already the fallback of "{primaries[target]}"')
        else:
            primaries[target] = step.id
            standby = graph.steps[target]
            if standby.depends_on:
                result.add(
                    path,
                    f'fallback "{target}" must have no depends_on: '
                    f'it takes the place of "{step.id}"',
                )
            if graph.dependents[target]:
                result.add(
                    path,
                    f'fallback "{target}" cannot be a dependency of other steps '
                    f'({", ".join(graph.dependents[target])}); depend on "{step.id}" instead',
                )


def _check_outputs(
    step: Step,
    where: JsonPath,
    graph: StepGraph[Step],
    main: StepGraph[Step] | None,
    result: CheckResult,
) -> None:
    """A step may read only outputs that an ancestor provides; hooks may read any main step's."""
    wanted: list[tuple[JsonPath, str, str]] = [
        ((*where, "consumes", i), producer, name)
        for i, (producer, name) in enumerate(step.consumed)
    ]
    for path, text in step_strings(step, where):
        for ref in references(text):
            if isinstance(ref, OutputRef):
                wanted.append((path, ref.step_id, ref.name))
    for path, producer, name in wanted:
        if producer in graph.steps:
            source, reachable = graph, graph.is_ancestor(producer, step.id)
        elif main is not None and producer in main.steps:
            source, reachable = main, True
        else:
            result.add(path, f'step "{step.id}" reads output "{name}" of unknown step "{producer}"')
            continue
        if not reachable:
            result.add(
                path,
                f'step "{step.id}" reads an output of "{producer}" but does not depend on it '
                "(add it to depends_on)",
            )
        elif name not in source.steps[producer].provides:
            result.add(
                path,
                f'step "{producer}" does not provide output "{name}" '
                f"(its provides: {', '.join(source.steps[producer].provides) or 'none'})",
            )


def _check_step_kind(step: Step, where: JsonPath, result: CheckResult) -> None:
    """A step runs a command or a script, and `shell` means what goes with the one it runs."""
    if step.plan is not None:
        return  # what a plan step may not have, engine.plan.sub_plans says
    if step.run is None:
        if not step.command:
            result.add(where, f'step "{step.id}" needs command (a program), run (a script) or plan')
        elif isinstance(step.shell, str):
            result.add(
                (*where, "shell"),
                f'shell "{step.shell}" names the interpreter of a script (run); '
                "with command, shell is true or false",
            )
        return
    if step.command:
        result.add((*where, "run"), f'step "{step.id}" gives both command and run; give one')
    try:
        interpreter(step.shell)
    except ValueError as error:
        result.add((*where, "shell"), str(error))


def _check_cache_inputs(patterns: Sequence[str], where: JsonPath, result: CheckResult) -> None:
    """Cache inputs are files of the plan's directory: a key must not depend on the whole disk."""
    for index, pattern in enumerate(patterns):
        if pattern.strip("/.") == "":
            result.add((*where, index), f'"{pattern}" names no file; give a path or a glob')
        elif pattern.startswith(("/", "~")) or ".." in pattern.split("/"):
            result.add(
                (*where, index), f'"{pattern}" is outside the plan\'s directory; cache inputs are '
                "relative paths or globs below it"
            )  # fmt: skip
        elif any(True for _ in references(pattern)):
            result.add(
                (*where, index), f'"{pattern}": cache inputs may use variables, not outputs or '
                "secrets (the files are hashed before the step runs)"
            )  # fmt: skip


def _check_cache_env(
    names: Sequence[str], where: JsonPath, declared: set[str], result: CheckResult
) -> None:
    """A secret's value would be kept in the ledger as a short digest, which a guess can match."""
    for index, name in enumerate(names):
        if name in declared:
            result.add(
                (*where, index),
                f'secret "{name}" cannot be part of a cache key: its value would be stored in the '
                "ledger as a digest; key on a non-secret variable that changes with it",
            )


MAX_AGE_LIMIT_SEC = 365 * 86400  # the schema's maximum of cache.max_age in seconds


def _check_durations(step: Step, where: JsonPath, result: CheckResult) -> None:
    """A duration written with units is as positive and bounded as one written in seconds."""
    durations: list[tuple[JsonPath, float]] = []
    if step.cache is not None and step.cache.max_age_sec is not None:
        age = step.cache.max_age_sec
        durations.append(((*where, "cache", "max_age"), age))
        if age > MAX_AGE_LIMIT_SEC:
            result.add((*where, "cache", "max_age"), "max_age is more than a year (365d)")
    if step.circuit is not None:
        key = step.circuit.key
        if key is not None and (not key.strip() or any(True for _ in references(key))):
            result.add(
                (*where, "circuit", "key"), f'circuit key "{key}" must be a name once variables '
                "are substituted: no outputs, no secrets (it is stored in the ledger as it is)"
            )  # fmt: skip
        for name in ("within", "open_for"):
            durations.append(((*where, "circuit", name), duration_sec(getattr(step.circuit, name))))
    for path, seconds in durations:
        if seconds <= 0:
            result.add(path, f"{path[-1]} is zero; a duration must be positive")


def _check_secret_use(step: Step, where: JsonPath, declared: set[str], result: CheckResult) -> None:
    for i, name in enumerate(step.secrets):
        if name not in declared:
            result.add(
                (*where, "secrets", i),
                f'step "{step.id}" lists secret "{name}", '
                "which the plan does not declare in secrets",
            )
    for path, text in step_strings(step, where):
        for ref in references(text):
            if isinstance(ref, VarRef) and ref.name in declared:
                field_name = path[len(where)]
                place = "argv" if field_name in ("command", "args") else field_name
                how = "list it in the step's secrets"
                if field_name == "run":
                    place, how = "the script", f"{how} and write ${ref.name} in the script"
                result.add(
                    path,
                    f'secret "{ref.name}" cannot be substituted into {place}: a step sees '
                    f"a secret only as an environment variable ({how})",
                )


def _check_expressions(
    plan: Plan,
    step: Step,
    where: JsonPath,
    graph: StepGraph[Step],
    main: StepGraph[Step] | None,
    known: set[str],
    result: CheckResult,
) -> None:
    sources: list[tuple[JsonPath, str]] = []
    if step.condition is not None:
        sources.append(((*where, "condition"), step.condition))
    if isinstance(step.skip_if, tuple):
        sources.extend(((*where, "skip_if", i), text) for i, text in enumerate(step.skip_if))
    elif step.skip_if is not None:
        sources.append(((*where, "skip_if"), step.skip_if))
    if not sources:
        return
    ancestors = graph.ancestor_set(step.id, main.steps.keys() if main else frozenset())
    for path, text in sources:
        try:
            expression = parse_expression(text)
        except ExpressionError as error:
            result.add(path, f"bad expression: {error.message}", column=error.column)
            continue
        for problem in check_expression(
            expression, known_steps=known, ancestors=ancestors, known_vars=plan.vars.keys()
        ):
            result.add(path, f"bad expression: {problem.message}", column=problem.column)
        for warning in lint_expression(expression):
            result.warnings.append(Problem(path, warning.message, column=warning.column))
