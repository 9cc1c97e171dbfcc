"""A validated plan as the run engine uses it: plain frozen dataclasses, no pydantic.

The pydantic models (engine.plan.model) judge a plan; once it has passed, it becomes these.
Keeping the runtime model free of pydantic lets a plan validated before (engine.plan.cache) run
without importing pydantic at all, which is most of a short run's start-up time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from engine.plan.graph import StepGraph
from engine.plan.problems import Problem

# Where each group of steps lives in a plan; hooks form small DAGs of their own.
GROUPS = ("steps", "on_success", "on_failure", "on_exit")


class OnFailure(StrEnum):
    ABORT = "abort"
    SKIP_DEPENDENTS = "skip_dependents"
    CONTINUE = "continue"


# Enum.__call__ costs ~10 us; converting 10,000 steps should not spend 0.1 s on it.
_ON_FAILURE = {member.value: member for member in OnFailure}


@dataclass(frozen=True, slots=True)
class SecretSpec:
    name: str
    from_env: str | None = None
    optional: bool = False

    @property
    def source(self) -> str:
        return self.from_env or self.name


@dataclass(frozen=True, slots=True)
class Globals:
    max_concurrency: int | None = None
    default_timeout_sec: float | None = None
    max_step_duration_sec: float | None = None
    timeout_sec: float | None = None
    kill_grace_sec: float = 5.0
    env: Mapping[str, str] = field(default_factory=dict)
    inherit_env: bool = False
    executor: str | None = None  # "local" or "dask"; --executor and $ENGINE_EXECUTOR win


@dataclass(frozen=True, slots=True)
class Retry:
    max_attempts: int
    delay_sec: float = 1.0
    backoff: float = 1.0
    max_delay_sec: float | None = None
    jitter: bool = False
    on_exit_codes: tuple[int, ...] | None = None
    on_timeout: bool = False
    on_worker_lost: bool = True  # a Dask worker (or scheduler) lost mid-step: worker_lost


@dataclass(frozen=True, slots=True)
class CacheSpec:
    """A step's `cache`: the input files (globs) and env names in its key, and the oldest hit."""

    inputs: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    max_age_sec: float | None = None


_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def duration_seconds(value: float | str) -> float:
    """Seconds in a number or a duration the schema accepted (`90s`, `1h30m`, `7d`)."""
    if not isinstance(value, str):
        return float(value)
    found = re.findall(r"([0-9]+(?:\.[0-9]+)?)([smhdw])", value)
    return sum(float(number) * _DURATION_UNITS[unit] for number, unit in found)


_UNIT_SEC = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def duration_sec(text: str) -> float:
    """Seconds in a schema-checked duration: `90s`, `10m`, `1h30m`, `2d`."""
    return sum(float(n) * _UNIT_SEC[u] for n, u in re.findall(r"([0-9.]+)([smhd])", text))


@dataclass(frozen=True, slots=True)
class Circuit:
    failures: int
    within: str
    open_for: str
    key: str | None = None

    @property
    def within_sec(self) -> float:
        return duration_sec(self.within)

    @property
    def open_for_sec(self) -> float:
        return duration_sec(self.open_for)


@dataclass(frozen=True, slots=True)
class MatrixOf:
    """Where a matrix expansion came from: the step as written and this combination's values."""

    step: str
    values: Mapping[str, str]
    max_parallel: int | None = None
    fail_fast: bool = False


@dataclass(frozen=True, slots=True)
class Step:
    id: str
    command: str  # "" in a script step
    name: str | None
    description: str | None
    args: tuple[str, ...]
    shell: bool | str  # with `run`, the interpreter (engine.plan.scripts)
    cwd: str | None
    env: Mapping[str, str]
    inherit_env: bool | None
    depends_on: tuple[str, ...]
    timeout_sec: float | None
    retry: Retry | None
    on_failure: OnFailure
    fallback: str | None
    critical: bool
    condition: str | None
    skip_if: str | tuple[str, ...] | None
    provides: tuple[str, ...]
    consumes: tuple[str, ...]
    secrets: tuple[str, ...]
    success_exit_codes: tuple[int, ...]
    run: str | None = None  # a script step's script
    pool: str | None = None
    circuit: Circuit | None = None
    cache: CacheSpec | None = None
    matrix: MatrixOf | None = None
    plan: str | None = None  # a plan file to run as a child run, instead of command
    vars: Mapping[str, str] = field(default_factory=dict)  # given to that plan
    resources: Mapping[str, float] = field(default_factory=dict)  # a cluster worker's, to hold
    executor: str | None = None  # "local": on the engine's host whatever the run's executor

    @property
    def skip_ifs(self) -> tuple[str, ...]:
        if self.skip_if is None:
            return ()
        return (self.skip_if,) if isinstance(self.skip_if, str) else self.skip_if

    @property
    def consumed(self) -> list[tuple[str, str]]:
        """`consumes` as (step id, output name); names have no dots, so the last dot splits."""
        return [(item.rsplit(".", 1)[0], item.rsplit(".", 1)[1]) for item in self.consumes]


@dataclass(frozen=True, slots=True)
class Plan:
    name: str
    version: str | None
    description: str | None
    vars: Mapping[str, str | bool | int | float | None]
    requires_env: tuple[str, ...]
    secret_specs: tuple[SecretSpec, ...]
    globals: Globals
    steps: tuple[Step, ...]
    on_success: tuple[Step, ...]
    on_failure: tuple[Step, ...]
    on_exit: tuple[Step, ...]
    concurrency_group: str | None = None
    cancel_in_progress: bool = False
    pools: Mapping[str, int] = field(default_factory=dict)
    outputs: Mapping[str, str] = field(default_factory=dict)  # name -> ${steps.ID.outputs.NAME}

    @property
    def hooks(self) -> dict[str, tuple[Step, ...]]:
        return {
            "on_success": self.on_success,
            "on_failure": self.on_failure,
            "on_exit": self.on_exit,
        }

    def all_steps(self) -> list[Step]:
        """The DAG's steps, then every hook step."""
        return [*self.steps, *self.on_success, *self.on_failure, *self.on_exit]


def plan_from_dict(data: Mapping[str, Any]) -> Plan:
    """A Plan from the dict of a validated plan (pydantic's model_dump, or the cache's copy)."""
    globals_data = dict(data.get("globals") or {})
    globals_data["env"] = dict(globals_data.get("env") or {})
    secrets = tuple(
        SecretSpec(name=s) if isinstance(s, str) else SecretSpec(**s) for s in data["secrets"]
    )
    return Plan(
        name=data["name"],
        version=data.get("version"),
        description=data.get("description"),
        vars=dict(data.get("vars") or {}),
        requires_env=tuple(data.get("requires_env") or ()),
        secret_specs=secrets,
        globals=Globals(**globals_data),
        concurrency_group=data.get("concurrency_group"),
        cancel_in_progress=bool(data.get("cancel_in_progress")),
        pools=dict(data.get("pools") or {}),
        **{group: tuple(_step(s) for s in data.get(group) or ()) for group in GROUPS},
        outputs=dict(data.get("outputs") or {}),
    )


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """The inverse of plan_from_dict, as JSON-ready values (the cache stores this)."""
    return {
        "name": plan.name,
        "version": plan.version,
        "description": plan.description,
        "vars": dict(plan.vars),
        "requires_env": list(plan.requires_env),
        "secrets": [_plain(s) for s in plan.secret_specs],
        "globals": {**_plain(plan.globals), "env": dict(plan.globals.env)},
        "concurrency_group": plan.concurrency_group,
        "cancel_in_progress": plan.cancel_in_progress,
        "pools": dict(plan.pools),
        **{group: [_plain(s) for s in getattr(plan, group)] for group in GROUPS},
        "outputs": dict(plan.outputs),
    }


def _step(data: Mapping[str, Any]) -> Step:
    retry = data.get("retry")
    skip_if = data.get("skip_if")
    matrix = data.get("matrix")
    return Step(
        id=data["id"],
        command=data.get("command") or "",
        name=data.get("name"),
        description=data.get("description"),
        args=tuple(data.get("args") or ()),
        shell=data.get("shell") or False,
        cwd=data.get("cwd"),
        env=dict(data.get("env") or {}),
        inherit_env=data.get("inherit_env"),
        depends_on=tuple(data.get("depends_on") or ()),
        timeout_sec=data.get("timeout_sec"),
        retry=None if retry is None else _retry(retry),
        on_failure=_ON_FAILURE[data.get("on_failure") or "abort"],
        fallback=data.get("fallback"),
        critical=bool(data.get("critical")),
        condition=data.get("condition"),
        skip_if=skip_if if skip_if is None or isinstance(skip_if, str) else tuple(skip_if),
        provides=tuple(data.get("provides") or ()),
        consumes=tuple(data.get("consumes") or ()),
        secrets=tuple(data.get("secrets") or ()),
        success_exit_codes=tuple(data.get("success_exit_codes") or (0,)),
        run=data.get("run"),
        pool=data.get("pool"),
        matrix=None if matrix is None else MatrixOf(**{**matrix, "values": dict(matrix["values"])}),
        plan=data.get("plan"),
        vars=dict(data.get("vars") or {}),
        resources=dict(data.get("resources") or {}),
        executor=data.get("executor"),
        circuit=None if data.get("circuit") is None else Circuit(**data["circuit"]),
        cache=_cache(data.get("cache")),
    )


def _cache(data: bool | Mapping[str, Any] | None) -> CacheSpec | None:
    """`cache` as written (true, or an object with max_age), or as plan_to_dict left it."""
    if not data:
        return None
    if data is True:
        return CacheSpec()
    assert isinstance(data, Mapping)
    max_age = data.get("max_age", data.get("max_age_sec"))
    return CacheSpec(
        inputs=tuple(data.get("inputs") or ()),
        env=tuple(data.get("env") or ()),
        max_age_sec=None if max_age is None else duration_seconds(max_age),
    )


def _retry(data: Mapping[str, Any]) -> Retry:
    codes = data.get("on_exit_codes")
    return Retry(**{**data, "on_exit_codes": None if codes is None else tuple(codes)})


def _plain(value: Any) -> Any:
    """A spec dataclass as JSON-ready values (tuples become lists, nested dataclasses dicts)."""
    if hasattr(value, "__dataclass_fields__"):
        return {name: _plain(getattr(value, name)) for name in value.__dataclass_fields__}
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    return value


@dataclass(frozen=True)
class LoadedPlan:
    """A valid plan with its variables substituted, ready to run."""

    plan: Plan
    source: str  # how the user named the file
    base_dir: Path  # relative `cwd`s are resolved from here
    vars: dict[str, str]
    document: dict[str, Any]  # the plan as written, before substitution
    hash: str  # sha256 of the canonical JSON of `document`
    graphs: dict[str, StepGraph[Step]]
    warnings: tuple[Problem, ...] = ()  # located, for `engine validate` (conditions.md)

    @property
    def graph(self) -> StepGraph[Step]:
        return self.graphs["steps"]

    def canonical_json(self) -> str:
        return canonical_json(self.document)


def canonical_json(document: Any) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def graphs_of(plan: Plan) -> dict[str, StepGraph[Step]]:
    return {group: StepGraph(getattr(plan, group)) for group in GROUPS}
