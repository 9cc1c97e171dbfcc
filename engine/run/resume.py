"""What `engine resume` takes from an earlier run, and why every other step runs again.

The new run may have an edited plan: steps are matched by id and compared by fingerprint
(engine.plan.fingerprint), as Nextflow's -resume compares task hashes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import PlanError, UnknownRun, UserError
from engine.ledger.reader import LedgerReader
from engine.ledger.records import RunDetail, StepState
from engine.plan.fingerprint import Fingerprinter, changed_parts
from engine.plan.loader import load_document
from engine.plan.spec import LoadedPlan
from engine.plan.variables import var_text
from engine.states import ExitCode, StepStatus

# A resumed run's reused outputs live in the run that produced them; follow at most this many
# `resumed_from` links to find them.
MAX_RESUME_CHAIN = 100
_REUSABLE = (StepStatus.SUCCEEDED, StepStatus.REUSED)


@dataclass(frozen=True)
class ResumePlan:
    """The new run: its plan with its vars, what it reuses, and why the rest re-runs."""

    resumed_from: str
    loaded: LoadedPlan
    reused: dict[str, dict[str, str]]  # step id -> its outputs
    rerun_reasons: dict[str, str]  # step id -> why it runs again
    dropped: tuple[str, ...] = ()  # steps of the old run the new plan no longer has


def plan_resume(
    reader: LedgerReader,
    run_id: str,
    *,
    plan: LoadedPlan | None = None,
    selected: Sequence[str] = (),
    downstream: bool = False,
    overrides: Mapping[str, str] | None = None,
) -> ResumePlan:
    """Decide how to resume `run_id` with `plan` (by default the plan it ran, from the ledger).

    A succeeded step is reused only when its fingerprint is unchanged and no step upstream of it
    changed; `selected` steps re-run (and their dependents with `downstream`).
    """
    run = _finished_run(reader, run_id)
    old = _Old(reader, run_id, run, overrides)
    loaded = plan if plan is not None else old.loaded()
    if loaded is None:
        raise UserError(f"The plan of run {run_id} can no longer be loaded; pass --plan FILE.")
    graph = loaded.graph
    unknown = [step_id for step_id in selected if step_id not in graph.steps]
    if unknown:
        raise UserError(f"The plan has no step {', '.join(map(repr, unknown))}.")
    chosen = {step_id: "selected with --step" for step_id in selected}
    if downstream:
        for step_id in graph.descendants(selected):
            if step_id not in chosen:
                origin = next(s for s in selected if graph.is_ancestor(s, step_id))
                chosen[step_id] = f'depends on re-run step "{origin}" (--downstream)'
    old_steps = {s.step_id: s for s in reader.run_steps(run_id) if not s.is_hook}
    fingerprints = Fingerprinter(loaded)
    finder = _OutputFinder(reader)
    reused: dict[str, dict[str, str]] = {}
    reasons: dict[str, str] = {}
    changed: set[str] = set()  # new or edited: whatever depends on them runs again too
    for step_id in graph.order():
        step = graph.steps[step_id]
        before = old_steps.get(step_id)
        upstream = [dep for dep in graph.deps[step_id] if dep in changed]
        if before is None:
            changed.add(step_id)
            reasons[step_id] = "new step"
            continue
        edits = changed_parts(old.parts(step_id), fingerprints.definition(step))
        if edits:
            changed.add(step_id)
        if step_id in chosen:
            reasons[step_id] = chosen[step_id]
        elif edits:
            reasons[step_id] = "definition changed: " + ", ".join(edits)
        elif before.status not in _REUSABLE:
            reasons[step_id] = _why_not_done(run_id, before)
        elif upstream:
            changed.add(step_id)
            reasons[step_id] = "upstream re-ran: " + ", ".join(upstream)
        else:
            outputs = finder.outputs(run_id, step_id)
            missing = [name for name in step.provides if name not in (outputs or {})]
            if outputs is None or missing:
                reasons[step_id] = "its outputs are no longer in the ledger"
            else:
                reused[step_id] = outputs
    dropped = tuple(step_id for step_id in old_steps if step_id not in graph.steps)
    ordered = {step_id: reasons[step_id] for step_id in graph.steps if step_id in reasons}
    return ResumePlan(run_id, loaded, reused, ordered, dropped)


def resume_vars(
    reader: LedgerReader, run_id: str, document: Mapping[str, Any], overrides: Mapping[str, str]
) -> dict[str, str]:
    """The vars to load an edited plan with: those given to `run_id` (its values that differ from
    its plan's defaults) that the edited `document` still knows, then `overrides`."""
    run = _finished_run(reader, run_id)
    defaults = json.loads(run.plan_json).get("vars") or {}
    declared = document.get("vars") or {}
    text = json.dumps(document)
    given = {
        name: str(value)
        for name, value in run.vars.items()
        if var_text(defaults.get(name)) != str(value) and (name in declared or "${" + name in text)
    }
    return given | dict(overrides)


def load_edited(
    reader: LedgerReader, run_id: str, plan_file: Path, overrides: Mapping[str, str]
) -> LoadedPlan:
    """The edited plan at `plan_file`, with the vars `run_id` was given that it still declares."""
    from engine.plan.document import parse_plan, read_plan_text
    from engine.plan.loader import load_text

    text = read_plan_text(plan_file)
    given = resume_vars(reader, run_id, parse_plan(text, str(plan_file)), overrides)
    return load_text(text, plan_file, given)


def _finished_run(reader: LedgerReader, run_id: str) -> RunDetail:
    run = reader.get_run(run_id)
    if run is None:
        raise UnknownRun(f"There is no run {run_id!r} in the ledger.")
    if not run.status.is_final:
        raise UserError(
            f"Run {run_id} is still {run.status}; cancel it or wait for it to end.", ExitCode.FAILED
        )
    return run


class _Old:
    """The resumed run's plan and fingerprints; runs recorded before fingerprints existed get
    theirs computed from their stored plan."""

    def __init__(
        self,
        reader: LedgerReader,
        run_id: str,
        run: RunDetail,
        overrides: Mapping[str, str] | None,
    ) -> None:
        self._run = run
        self._overrides = dict(overrides or {})
        self._recorded = reader.step_fingerprints(run_id)
        self._loaded: LoadedPlan | None = None
        self._fingerprints: Fingerprinter | None = None
        self._tried = False

    def loaded(self, *, with_overrides: bool = True) -> LoadedPlan | None:
        """The stored plan with the run's vars and the overrides; without those, None when it no
        longer loads (an older engine accepted it)."""
        run = self._run
        given = {name: str(value) for name, value in run.vars.items()}
        if with_overrides:
            given |= self._overrides
        source = run.plan_path or f"<plan {run.plan_hash[:12]} from the ledger>"
        base_dir = Path(run.plan_path).parent if run.plan_path else Path.cwd()
        if not base_dir.is_dir():
            base_dir = Path.cwd()
        try:
            return load_document(json.loads(run.plan_json), source, base_dir, given)
        except PlanError:
            if with_overrides:
                raise
            return None

    def parts(self, step_id: str) -> dict[str, str]:
        """The step's fingerprint parts in the old run; {} when they cannot be known."""
        recorded = self._recorded.get(step_id)
        if recorded is not None:
            return recorded
        if not self._tried:
            self._tried = True
            loaded = self.loaded(with_overrides=False)
            self._fingerprints = None if loaded is None else Fingerprinter(loaded)
            self._loaded = loaded
        if self._fingerprints is None or self._loaded is None:
            return {}
        step = self._loaded.graph.steps.get(step_id)
        return {} if step is None else self._fingerprints.definition(step)


def _why_not_done(run_id: str, old: StepState) -> str:
    reason = f"{old.status} before, in run {run_id}"
    return f"{reason}: {old.reason}" if old.reason else reason


class _OutputFinder:
    """Finds a step's outputs in the run that produced them, following `resumed_from` links."""

    def __init__(self, reader: LedgerReader) -> None:
        self._reader = reader
        self._outputs: dict[str, dict[str, dict[str, str]]] = {}
        self._steps: dict[str, dict[str, StepStatus]] = {}

    def outputs(self, run_id: str, step_id: str) -> dict[str, str] | None:
        current: str | None = run_id
        for _ in range(MAX_RESUME_CHAIN):
            if current is None:
                return None
            status = self._statuses(current).get(step_id)
            if status is StepStatus.SUCCEEDED:
                return self._run_outputs(current).get(step_id, {})
            if status is not StepStatus.REUSED:
                return None
            run = self._reader.get_run(current)
            resumed_from = None if run is None else run.summary.resumed_from
            own = self._run_outputs(current).get(step_id)
            if own or resumed_from is None:  # copied when reused; from the cache if not resumed
                return own or {}
            current = resumed_from
        return None

    def _statuses(self, run_id: str) -> dict[str, StepStatus]:
        if run_id not in self._steps:
            self._steps[run_id] = {s.step_id: s.status for s in self._reader.run_steps(run_id)}
        return self._steps[run_id]

    def _run_outputs(self, run_id: str) -> dict[str, dict[str, str]]:
        if run_id not in self._outputs:
            by_step: dict[str, dict[str, str]] = {}
            for output in self._reader.outputs(run_id):
                by_step.setdefault(output.step_id, {})[output.name] = output.value
            self._outputs[run_id] = by_step
        return self._outputs[run_id]
