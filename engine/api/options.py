"""One internal options object for a run, whatever asked for it: the API's keywords or the CLI's.

A new run option is a field here, a keyword of `engine.run_plan` and a CLI flag, all mapped onto
the session's `RunRequest` in one place (`to_request`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import PlanError, UserError

if TYPE_CHECKING:
    from engine.plan.spec import LoadedPlan
    from engine.run.recorder import Listener
    from engine.run.session import RunRequest


Force = bool | str | Iterable[str]  # run_plan's `force=`: True (every cached step), or step ids


@dataclass(frozen=True)
class RunOptions:
    """Everything a run is started with besides its plan; the CLI and the API fill the same one."""

    ledger: str | os.PathLike[str] | None = None
    max_concurrency: int | None = None
    env_file: str | os.PathLike[str] | None = None
    secrets_file: str | os.PathLike[str] | None = None
    deadline: datetime | None = None
    listeners: tuple[Listener, ...] = ()
    on_ready: Callable[[str], None] | None = None  # the run id, once its row is committed
    resumed_from: str | None = None
    reused: dict[str, dict[str, str]] = field(default_factory=dict)
    rerun_reasons: dict[str, str] = field(default_factory=dict)
    wait_for_group: bool = True  # False: end at once when the plan's concurrency group is taken
    force: Force = False  # cached steps run without reading the cache (forced_steps)
    # Become a child subreaper and adopt the steps' orphans (engine/executors/keeper.py): only for
    # a process whose children are all steps, `engine run`. In a program that has children of its
    # own, the keeper would reap them and kill them when the run ends.
    adopt_orphans: bool = False
    parent: tuple[str, str] | None = None  # (run id, step id) of a plan step running this plan
    # Where steps run (docs/cli.md): "local" or "dask", over $ENGINE_EXECUTOR and the plan; and
    # the Dask scheduler's address, over $ENGINE_DASK_ADDRESS (neither: a LocalCluster).
    executor: str | None = None
    dask_address: str | None = None

    def ledger_path(self) -> Path:
        """The ledger file, found like the CLI's (`$LEDGER_DB`, else the nearest `.ledger/`)."""
        from engine.ledger.location import resolve_ledger_path

        explicit = None if self.ledger is None else os.fspath(self.ledger)
        return resolve_ledger_path(explicit, create=True)

    def to_request(self, loaded: LoadedPlan, ledger_path: Path) -> RunRequest:
        """The session's request; reads the env and secrets files (UserError if unreadable)."""
        from engine.run.environment import read_env_file
        from engine.run.session import RunRequest

        return RunRequest(
            loaded=loaded,
            ledger_path=ledger_path,
            max_concurrency=self.max_concurrency,
            env_file=read_env_file(Path(self.env_file)) if self.env_file else {},
            secrets_file=(
                read_env_file(Path(self.secrets_file), "--secrets-file")
                if self.secrets_file
                else {}
            ),
            resumed_from=self.resumed_from,
            reused=self.reused,
            rerun_reasons=self.rerun_reasons,
            force=forced_steps(self.force, loaded),
            listeners=self.listeners,
            deadline=None if self.deadline is None else self.deadline.timestamp(),
            on_ready=self.on_ready,
            wait_for_group=self.wait_for_group,
            adopt_orphans=self.adopt_orphans,
            parent=self.parent,
            executor=self.executor,
            dask_address=self.dask_address,
        )


def forced_steps(force: Force, loaded: LoadedPlan, what: str = "force") -> frozenset[str]:
    """The steps whose cache is not read, as the run takes them ("*": all); UserError naming
    a step the plan does not have.

    A matrix step's id names all its expansions, as its id does in `depends_on`.
    """
    from engine.plan.matrix import matrix_base
    from engine.run.step_cache import FORCE_ALL

    if force is True:
        return frozenset({FORCE_ALL})
    if force is False:
        return frozenset()
    names = [force] if isinstance(force, str) else force
    if not isinstance(names, Iterable) or not all(isinstance(name, str) for name in names):
        raise UserError(f"{what}: expected True or step ids, not {force!r}")
    steps = set(loaded.graph.steps)
    bases: dict[str, set[str]] = {}
    for step_id in steps:
        if (base := matrix_base(step_id)) is not None:
            bases.setdefault(base, set()).add(step_id)
    chosen: set[str] = set()
    unknown = []
    for name in names:
        if name == FORCE_ALL or name in steps:
            chosen.add(name)
        elif name in bases:
            chosen |= bases[name]
        else:
            unknown.append(name)
    if unknown:
        raise UserError(f"{what}: the plan has no step {', '.join(map(repr, sorted(unknown)))}.")
    return frozenset(chosen)


def var_values(given: Mapping[str, object] | None) -> dict[str, str]:
    """Plan variables as the loader takes them: text, booleans as `true`/`false` like JSON."""
    values: dict[str, str] = {}
    for name, value in (given or {}).items():
        if not isinstance(name, str) or not name.isidentifier():
            raise UserError(f"vars: {name!r} is not a variable name")
        if isinstance(value, bool):
            values[name] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            values[name] = str(value)
            if not values[name].isascii() and not _utf8(values[name]):
                raise UserError(f"vars: {name}: the value is not UTF-8 text")
        else:
            raise UserError(f"vars: {name} must be text or a number, not {type(value).__name__}")
    return values


def _utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def load(plan: object, given_vars: Mapping[str, str], ledger_path: Path) -> LoadedPlan:
    """A plan file (through the CLI's cached loader), a dict or an `engine.Plan`, checked.

    PlanError (with every problem) when it is not a valid plan.
    """
    if isinstance(plan, str | os.PathLike):
        from engine.plan.cache import load_plan_cached  # a plan seen before skips pydantic

        return load_plan_cached(Path(plan), given_vars, cache_dir=ledger_path.parent / "cache")
    try:
        return _load_built(plan, given_vars)
    except RecursionError:  # as a plan file nested as deep is refused by its JSON parser
        raise PlanError("<plan>: not a plan: nested too deeply") from None


def _load_built(plan: object, given_vars: Mapping[str, str]) -> LoadedPlan:
    from engine.plan.loader import load_document

    if isinstance(plan, Mapping):
        return load_document(dict(plan), "<plan>", Path.cwd(), given_vars)
    from engine.plan.model import Plan

    if isinstance(plan, Plan):
        document = plan.model_dump(mode="json", by_alias=True, exclude_unset=True)
        return load_document(document, "<plan>", Path.cwd(), given_vars)
    raise PlanError(f"plan must be a path, a dict or an engine.Plan, not {type(plan).__name__}")
