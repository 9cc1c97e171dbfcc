"""Matrix fan-out: a step with `matrix` becomes one step per combination of its values, at load
time.

Combinations follow GitHub Actions: the product of the dimensions, minus every combination that
matches an `exclude` entry, then each `include` entry is merged into every remaining combination
whose dimension values it does not contradict, or, when it fits none, added as a combination of its
own. Expansion happens on the plan's plain data before the whole-plan checks, so the checks, the
scheduler and the ledger see ordinary steps with ids such as `test[os=linux,py=3.12]`.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from engine.plan.problems import JsonPath, Problem
from engine.plan.spec import GROUPS
from engine.plan.variables import MatrixRef, OutputRef, escape, references, var_text

MAX_EXPANSIONS = 10_000  # per matrix step; docs/plans.md documents it
MAX_EXPANSION_ID = 200  # a step id names its log files: stay well under 255 bytes
_RESERVED = ("include", "exclude", "max_parallel", "fail_fast")
# Step fields that are not templates: `${matrix.X}` is substituted in every other string.
_NOT_TEMPLATES = frozenset({"id", "matrix", "depends_on", "fallback", "provides", "consumes"})
_TOKEN = re.compile(r"\$\$\{|\$\{matrix\.([^}]*)\}")

Combination = dict[str, str]


def matrix_base(step_id: str) -> str | None:
    """The step a matrix expansion came from (`test` for `test[os=linux]`), or None."""
    if step_id.endswith("]"):
        base, bracket, _ = step_id.partition("[")
        if bracket:
            return base
    return None


@dataclass
class Expansion:
    """What expanding a plan's matrices did: its problems, and how to map later problems back."""

    problems: list[Problem] = field(default_factory=list)
    # Per group, the written step index of each expanded step, for steps that moved or multiplied.
    origins: dict[str, list[int]] = field(default_factory=dict)

    def translate(self, problems: list[Problem]) -> list[Problem]:
        """Problems found on the expanded plan, at the paths of the plan as written, each once."""
        if not self.origins:
            return problems
        # A path the matrix pass explained needs no second, vaguer problem ("unknown step test").
        explained = {problem.path for problem in self.problems}
        seen: set[tuple[Any, ...]] = set()
        translated: list[Problem] = []
        for problem in problems:
            path = problem.path
            origins = self.origins.get(str(path[0])) if len(path) > 1 else None
            if origins is not None and isinstance(path[1], int) and path[1] < len(origins):
                path = (path[0], origins[path[1]], *path[2:])
            # A mistake in a matrix step is reported once, not once per expansion.
            key = (path, _generic(problem.message))
            if key not in seen and path not in explained:
                seen.add(key)
                translated.append(Problem(path, problem.message, problem.line, problem.column))
        return translated


def _generic(message: str) -> str:
    return re.sub(r"\[[^\]]*\]", "[...]", message)


def expand_matrices(data: dict[str, Any]) -> Expansion:
    """Replace, in the dumped plan `data`, each matrix step by its expansions, in place."""
    expansion = Expansion()
    for group in GROUPS:
        steps: list[dict[str, Any]] = data[group]
        if not any(step.get("matrix") is not None for step in steps):
            continue
        expanded: list[dict[str, Any]] = []
        origins: list[int] = []
        members: dict[str, list[str]] = {}
        for index, step in enumerate(steps):
            if step.get("matrix") is None:
                expanded.append(step)
                origins.append(index)
                continue
            copies = _expand_step(step, (group, index), expansion.problems)
            members[step["id"]] = [copy["id"] for copy in copies]
            expanded.extend(copies)
            origins.extend([index] * len(copies))
        _rewrite_references(group, steps, expanded, members, expansion.problems)
        data[group] = expanded
        expansion.origins[group] = origins
    return expansion


def _expand_step(
    step: dict[str, Any], where: JsonPath, problems: list[Problem]
) -> list[dict[str, Any]]:
    matrix: dict[str, Any] = step["matrix"]
    before = len(problems)
    combinations = combinations_of(matrix, (*where, "matrix"), problems)
    if step.get("fallback") is not None:
        problems.append(
            Problem((*where, "fallback"), f'matrix step "{step["id"]}" cannot have a fallback')
        )
    if len(problems) > before or not combinations:
        return []
    known = {name for combination in combinations for name in combination}
    dimensions = [name for name in matrix if name not in _RESERVED]
    fillers = [(key, _compile(step[key])) for key in _templates(step, where, known, problems)]
    info = {
        "step": step["id"],
        "max_parallel": matrix.get("max_parallel"),
        "fail_fast": bool(matrix.get("fail_fast")),
    }
    copies: list[dict[str, Any]] = []
    ids: set[str] = set()
    for combination in combinations:
        copy = dict(step)
        copy["id"] = expansion_id(step["id"], _id_values(combination, dimensions))
        if copy["id"] in ids:
            problems.append(
                Problem(
                    (*where, "matrix"), f'matrix of step "{step["id"]}" yields {copy["id"]} twice'
                )
            )
            return []
        if len(copy["id"]) > MAX_EXPANSION_ID:
            problems.append(
                Problem(
                    (*where, "matrix"),
                    f'matrix of step "{step["id"]}": the step id {copy["id"][:60]}... is longer '
                    f"than {MAX_EXPANSION_ID} characters; use shorter values",
                )
            )
            return []
        ids.add(copy["id"])
        escaped = {name: escape(value) for name, value in combination.items()}
        for key, fill in fillers:
            copy[key] = fill(escaped)
        copy["matrix"] = {**info, "values": combination}
        copies.append(copy)
    return copies


def combinations_of(
    matrix: Mapping[str, Any], where: JsonPath, problems: list[Problem]
) -> list[Combination]:
    """The matrix's combinations as value texts, GitHub Actions' way; [] with a problem if none."""
    dimensions = {k: v for k, v in matrix.items() if k not in _RESERVED}
    includes: list[dict[str, Any]] = list(matrix.get("include") or ())
    excludes: list[dict[str, Any]] = list(matrix.get("exclude") or ())
    if not dimensions and not includes:
        problems.append(Problem(where, "empty matrix: give at least one dimension or include"))
        return []
    for i, entry in enumerate(excludes):
        for name in entry:
            if name not in dimensions:
                problems.append(
                    Problem(
                        (*where, "exclude", i, name),
                        f'exclude names "{name}", which is not a dimension of the matrix '
                        f"({', '.join(dimensions) or 'none'})",
                    )
                )
    size = math.prod(len(values) for values in dimensions.values()) if dimensions else 0
    if size + len(includes) > MAX_EXPANSIONS:
        problems.append(
            Problem(
                where,
                f"matrix has {size + len(includes):,} combinations before exclude, "
                f"more than the {MAX_EXPANSIONS:,} allowed",
            )
        )
        return []
    texts = {name: [_text(v) for v in values] for name, values in dimensions.items()}
    exclude_texts = [{k: _text(v) for k, v in entry.items()} for entry in excludes]
    kept = [
        combination
        for combination in _product(texts)
        if not any(_matches(combination, entry) for entry in exclude_texts)
    ]
    originals = len(kept)
    for entry in includes:
        extra = {k: _text(v) for k, v in entry.items()}
        fits = {k: v for k, v in extra.items() if k in dimensions}
        merged = False
        for combination in kept[:originals]:
            if _matches(combination, fits):
                combination.update(extra)
                merged = True
        if not merged:
            kept.append(extra)
    if not kept:
        problems.append(Problem(where, "matrix leaves no combination: exclude removes them all"))
    return kept


def _product(texts: Mapping[str, list[str]]) -> Iterator[Combination]:
    if not texts:
        return
    names = list(texts)
    combinations: list[Combination] = [{}]
    for name in names:
        combinations = [{**c, name: value} for c in combinations for value in texts[name]]
    yield from combinations


def _matches(combination: Combination, entry: Mapping[str, str]) -> bool:
    return all(combination.get(k) == v for k, v in entry.items())


def _text(value: Any) -> str:
    text = var_text(value)
    assert text is not None  # the models admit no null in a matrix
    return text


def _id_values(combination: Combination, dimensions: list[str]) -> Combination:
    """The values an id shows: the dimensions, so that an include adding a value to a combination
    does not rename it; all of them for a combination an include added on its own."""
    if dimensions and all(name in combination for name in dimensions):
        return {name: combination[name] for name in dimensions}
    return combination


def expansion_id(step_id: str, combination: Mapping[str, str]) -> str:
    """`test[os=linux,py=3.12]`; characters that would break an id or a file name are %-escaped."""
    parts = ",".join(f"{name}={_quoted(value)}" for name, value in combination.items())
    return f"{step_id}[{parts}]"


@functools.lru_cache(maxsize=4096)  # a dimension's few values recur in every combination
def _quoted(value: str) -> str:
    return quote(value, safe="_.:@+-")


def _templates(
    step: Mapping[str, Any], where: JsonPath, known: set[str], problems: list[Problem]
) -> list[str]:
    """The step's fields that hold `${matrix.X}`; an unknown X is a problem (reported once)."""
    keys: list[str] = []
    for key, value in step.items():
        if key in _NOT_TEMPLATES:
            continue
        found = False
        for path, text in _strings(value, (*where, key)):
            for ref in references(text):
                if isinstance(ref, MatrixRef):
                    found = True
                    if ref.name not in known:
                        problems.append(
                            Problem(
                                path,
                                f"unknown matrix value ${{matrix.{ref.name}}} (the matrix of step "
                                f'"{step["id"]}" has {", ".join(sorted(known))})',
                            )
                        )
        if found:
            keys.append(key)
    return keys


def _strings(value: Any, path: JsonPath) -> Iterator[tuple[JsonPath, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, (*path, i))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*path, key))


def _compile(value: Any) -> Callable[[Mapping[str, str]], Any]:
    """A function of a combination (its values already escaped) that gives `value` with every
    `${matrix.X}` replaced; a name only other combinations have becomes ''. The template is
    parsed once per matrix step, not once per expansion."""
    if isinstance(value, str):
        parts: list[tuple[bool, str]] = []  # (is a name, text)
        last = 0
        for match in _TOKEN.finditer(value):
            if match.group(1) is not None:
                parts += [(False, value[last : match.start()]), (True, match.group(1))]
                last = match.end()
        parts.append((False, value[last:]))
        return lambda values: "".join(values.get(t, "") if name else t for name, t in parts)
    if isinstance(value, list):
        items = [_compile(item) for item in value]
        return lambda values: [fill(values) for fill in items]
    if isinstance(value, dict):
        entries = [(key, _compile(item)) for key, item in value.items()]
        return lambda values: {key: fill(values) for key, fill in entries}
    return lambda values: value


def _rewrite_references(
    group: str,
    written: list[dict[str, Any]],
    expanded: list[dict[str, Any]],
    members: dict[str, list[str]],
    problems: list[Problem],
) -> None:
    """`depends_on` a matrix step waits for all its expansions; one output of a whole matrix, or a
    fallback that is one, is ambiguous."""
    for step in expanded:
        depends_on = step.get("depends_on") or ()
        if any(dep in members for dep in depends_on):
            step["depends_on"] = [
                expanded_id for dep in depends_on for expanded_id in members.get(dep, [dep])
            ]
    for index, step in enumerate(written):
        where: JsonPath = (group, index)
        if step.get("fallback") in members:
            problems.append(
                Problem(
                    (*where, "fallback"),
                    f'fallback "{step["fallback"]}" is a matrix step; a fallback must be one step',
                )
            )
            step["fallback"] = None
        for i, item in enumerate(step.get("consumes") or ()):
            producer = item.rsplit(".", 1)[0]
            if producer in members:
                problems.append(_whole_matrix_output((*where, "consumes", i), producer, members))
        for key, value in step.items():
            if key in _NOT_TEMPLATES:
                continue
            for path, text in _strings(value, (*where, key)):
                for ref in references(text):
                    if isinstance(ref, OutputRef) and ref.step_id in members:
                        problems.append(_whole_matrix_output(path, ref.step_id, members))


def _whole_matrix_output(path: JsonPath, producer: str, members: dict[str, list[str]]) -> Problem:
    example = members[producer][0] if members[producer] else f"{producer}[...]"
    return Problem(
        path,
        f'"{producer}" is a matrix step: read the output of one expansion, '
        f"such as ${{steps.{example}.outputs.NAME}}",
    )
