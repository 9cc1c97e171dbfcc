"""Pydantic models of a plan, mirroring schema/plan.schema.json field for field.

The models check structure only, exactly as the schema does (tests/plan/test_schema_agreement.py
proves it); checks that need the whole plan (ids, the DAG, variables, expressions) live in
engine.plan.checks so that every problem can be reported at once.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    model_validator,
)

from engine.plan.spec import OnFailure

# Python's `$` also matches before a final newline; `(?!\n)` keeps jsonschema (which uses
# `re.search`) and these models from accepting "build\n" as an id. The lookahead needs python-re.
_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$(?!\n)"
STEP_ID_PATTERN = r"^[A-Za-z0-9_.-]+$(?!\n)"
CONSUMES_PATTERN = r"^[A-Za-z0-9_.-]+\.[A-Za-z_][A-Za-z0-9_]*$(?!\n)"


def _integral(value: Any) -> Any:
    """Accept 3.0 where an integer is expected, as JSON Schema does."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _unique(values: Any) -> Any:
    """uniqueItems; anything but a list of hashable items is left to the type check to reject."""
    if isinstance(values, list):
        try:
            distinct = len(set(values))
        except TypeError:
            return values
        if distinct != len(values):
            raise ValueError("items must be unique")
    return values


Int = Annotated[int, BeforeValidator(_integral)]
VarName = Annotated[str, StringConstraints(pattern=_NAME, max_length=100)]
EnvName = Annotated[str, StringConstraints(pattern=_NAME, max_length=200)]
StepId = Annotated[str, StringConstraints(pattern=STEP_ID_PATTERN, max_length=100)]
OutputName = Annotated[str, StringConstraints(pattern=_NAME, max_length=100)]
PoolName = Annotated[str, StringConstraints(pattern=STEP_ID_PATTERN, max_length=100)]
Expression = Annotated[str, StringConstraints(min_length=1, max_length=4096)]
Seconds = Annotated[float, Field(gt=0, le=31536000)]
ExitCodes = Annotated[
    list[Annotated[Int, Field(ge=0, le=255)]], Field(min_length=1), BeforeValidator(_unique)
]
EnvMap = dict[EnvName, str]


def _unique_list(item: Any) -> Any:
    return Annotated[list[item], BeforeValidator(_unique)]


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, regex_engine="python-re", validate_by_name=False
    )

    @model_validator(mode="before")
    @classmethod
    def _reject_null(cls, data: Any) -> Any:
        """No field of the schema is nullable: an explicit null is an error there, so here too."""
        if isinstance(data, dict):
            for key, value in data.items():
                if value is None:
                    raise ValueError(f"{key} may not be null")
        return data


class SecretSpec(_Model):
    name: EnvName
    from_env: EnvName | None = None
    optional: bool = False

    @property
    def source(self) -> str:
        return self.from_env or self.name


class Globals(_Model):
    max_concurrency: Annotated[Int, Field(ge=1, le=10000)] | None = None
    default_timeout_sec: Seconds | None = None
    max_step_duration_sec: Seconds | None = None
    timeout_sec: Seconds | None = None
    kill_grace_sec: Annotated[float, Field(ge=0, le=3600)] = 5.0
    env: EnvMap = Field(default_factory=dict)
    inherit_env: bool = False
    executor: Literal["local", "dask"] | None = None


class Retry(_Model):
    max_attempts: Annotated[Int, Field(ge=1, le=100)]
    delay_sec: Annotated[float, Field(ge=0, le=86400)] = 1.0
    backoff: Annotated[float, Field(ge=1, le=100)] = 1.0
    max_delay_sec: Annotated[float, Field(ge=0, le=86400)] | None = None
    jitter: bool = False
    on_exit_codes: ExitCodes | None = None
    on_timeout: bool = False
    on_worker_lost: bool = True


DURATION_PATTERN = r"^([0-9]+(\.[0-9]+)?[smhdw])+$(?!\n)"


class Cache(_Model):
    inputs: _unique_list(  # type: ignore[valid-type]
        Annotated[str, StringConstraints(min_length=1)]
    ) = Field(default_factory=list)
    env: _unique_list(EnvName) = Field(default_factory=list)  # type: ignore[valid-type]
    max_age: Seconds | Annotated[str, StringConstraints(pattern=DURATION_PATTERN)] | None = None


MatrixValue = str | bool | int | float


class Matrix(_Model):
    """Dimensions (name -> values) besides the four reserved keys; engine.plan.matrix expands it."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[VarName, Annotated[list[MatrixValue], Field(min_length=1)]] = Field(
        init=False
    )
    include: list[dict[VarName, MatrixValue]] = Field(default_factory=list)
    exclude: list[dict[VarName, MatrixValue]] = Field(default_factory=list)
    max_parallel: Annotated[Int, Field(ge=1, le=10000)] | None = None
    fail_fast: bool = False


Duration = Annotated[
    str, StringConstraints(pattern=r"^([0-9]+(\.[0-9]+)?[smhd])+$(?!\n)", max_length=40)
]


class Circuit(_Model):
    failures: Annotated[Int, Field(ge=1, le=1000)]
    within: Duration
    open_for: Duration
    key: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None


class Step(_Model):
    id: StepId
    name: Annotated[str, StringConstraints(max_length=200)] | None = None
    description: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    command: Annotated[str, StringConstraints(min_length=1)] | None = None
    run: Annotated[str, StringConstraints(min_length=1)] | None = None
    args: list[str] = Field(default_factory=list)
    shell: bool | Annotated[str, StringConstraints(min_length=1)] = False
    cwd: Annotated[str, StringConstraints(min_length=1)] | None = None
    env: EnvMap = Field(default_factory=dict)
    inherit_env: bool | None = None
    depends_on: _unique_list(StepId) = Field(default_factory=list)  # type: ignore[valid-type]
    timeout_sec: Seconds | None = None
    retry: Retry | None = None
    # Strict mode would accept only OnFailure members; a plan holds the enum's string values.
    on_failure: Annotated[OnFailure, Strict(False)] = OnFailure.ABORT
    fallback: StepId | None = None
    pool: PoolName | None = None
    circuit: Circuit | None = None
    critical: bool = False
    condition: Expression | None = None
    skip_if: Expression | Annotated[list[Expression], Field(min_length=1)] | None = None
    provides: _unique_list(OutputName) = Field(default_factory=list)  # type: ignore[valid-type]
    consumes: _unique_list(  # type: ignore[valid-type]
        Annotated[str, StringConstraints(pattern=CONSUMES_PATTERN)]
    ) = []
    secrets: _unique_list(EnvName) = Field(default_factory=list)  # type: ignore[valid-type]
    success_exit_codes: ExitCodes = Field(default_factory=lambda: [0])
    cache: bool | Cache | None = None
    matrix: Matrix | None = None
    plan: Annotated[str, StringConstraints(min_length=1)] | None = None
    vars: dict[VarName, str] = Field(default_factory=dict)
    resources: dict[VarName, Annotated[float, Field(gt=0, le=1000000)]] = Field(
        default_factory=dict
    )
    executor: Literal["local"] | None = None

    @property
    def skip_ifs(self) -> tuple[str, ...]:
        if self.skip_if is None:
            return ()
        return (self.skip_if,) if isinstance(self.skip_if, str) else tuple(self.skip_if)

    @property
    def consumed(self) -> list[tuple[str, str]]:
        """`consumes` as (step id, output name); names have no dots, so the last dot splits."""
        return [tuple(item.rsplit(".", 1)) for item in self.consumes]


class Plan(_Model):
    schema_uri: str | None = Field(default=None, alias="$schema")
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    version: Annotated[str, StringConstraints(max_length=100)] | None = None
    description: str | None = None
    tags: _unique_list(  # type: ignore[valid-type]
        Annotated[str, StringConstraints(min_length=1, max_length=100)]
    ) = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    vars: dict[VarName, str | bool | int | float | None] = Field(default_factory=dict)
    requires_env: _unique_list(EnvName) = Field(default_factory=list)  # type: ignore[valid-type]
    secrets: list[EnvName | SecretSpec] = Field(default_factory=list)
    globals: Globals = Globals()
    concurrency_group: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    cancel_in_progress: bool = False
    pools: dict[PoolName, Annotated[Int, Field(ge=1, le=10000)]] = Field(default_factory=dict)
    steps: Annotated[list[Step], Field(min_length=1)]
    on_success: list[Step] = Field(default_factory=list)
    on_failure: list[Step] = Field(default_factory=list)
    on_exit: list[Step] = Field(default_factory=list)
    outputs: dict[OutputName, str] = Field(default_factory=dict)

    @property
    def secret_specs(self) -> list[SecretSpec]:
        return [SecretSpec(name=s) if isinstance(s, str) else s for s in self.secrets]

    @property
    def hooks(self) -> dict[str, list[Step]]:
        return {
            "on_success": self.on_success,
            "on_failure": self.on_failure,
            "on_exit": self.on_exit,
        }

    def all_steps(self) -> list[Step]:
        """The DAG's steps, then every hook step."""
        return [*self.steps, *self.on_success, *self.on_failure, *self.on_exit]
