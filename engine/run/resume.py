"""What `engine resume` takes from an earlier run, and why every other step runs again."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.errors import UserError
from engine.ledger.reader import LedgerReader
from engine.ledger.records import StepState
from engine.plan.loader import load_document
from engine.plan.spec import LoadedPlan
from engine.states import ExitCode, StepStatus

# A resumed run's reused outputs live in the run that produced them; follow at most this many
# `resumed_from` links to find them.
MAX_RESUME_CHAIN = 100
_REUSABLE = (StepStatus.SUCCEEDED, StepStatus.REUSED)


@dataclass(frozen=True)
class ResumePlan:
    """The new run: the stored plan with its vars, what it reuses, and why the rest re-runs."""

    resumed_from: str
    loaded: LoadedPlan
    reused: dict[str, dict[str, str]]  # step id -> its outputs
    rerun_reasons: dict[str, str]  # step id -> why it runs again


def plan_resume(
    reader: LedgerReader,
    run_id: str,
    *,
    selected: Sequence[str] = (),
    downstream: bool = False,
    overrides: Mapping[str, str] | None = None,
) -> ResumePlan:
    """Decide how to resume `run_id`: reuse its succeeded steps except `selected` (and their
    dependents with `downstream`); the plan comes from the ledger, the vars too unless overridden.
    """
    run = reader.get_run(run_id)
    if run is None:
        raise UserError(f"There is no run {run_id!r} in the ledger.")
    if not run.status.is_final:
        raise UserError(
            f"Run {run_id} is still {run.status}; cancel it or wait for it to end.", ExitCode.FAILED
        )
    given = {name: str(value) for name, value in run.vars.items()} | dict(overrides or {})
    source = run.plan_path or f"<plan {run.plan_hash[:12]} from the ledger>"
    base_dir = Path(run.plan_path).parent if run.plan_path else Path.cwd()
    if not base_dir.is_dir():
        base_dir = Path.cwd()
    loaded = load_document(json.loads(run.plan_json), source, base_dir, given)
    graph = loaded.graph
    unknown = [step_id for step_id in selected if step_id not in graph.steps]
    if unknown:
        raise UserError(f"The plan of run {run_id} has no step {', '.join(map(repr, unknown))}.")
    chosen = {step_id: "selected with --step" for step_id in selected}
    if downstream:
        for step_id in graph.descendants(selected):
            if step_id not in chosen:
                origin = next(s for s in selected if graph.is_ancestor(s, step_id))
                chosen[step_id] = f'depends on re-run step "{origin}" (--downstream)'
    old_steps = {s.step_id: s for s in reader.run_steps(run_id) if not s.is_hook}
    finder = _OutputFinder(reader)
    reused: dict[str, dict[str, str]] = {}
    reasons: dict[str, str] = {}
    for step_id, step in graph.steps.items():
        old = old_steps.get(step_id)
        if step_id in chosen:
            reasons[step_id] = chosen[step_id]
        elif old is None or old.status not in _REUSABLE:
            reasons[step_id] = _why_not_done(run_id, old)
        else:
            outputs = finder.outputs(run_id, step_id)
            missing = [name for name in step.provides if name not in (outputs or {})]
            if outputs is None or missing:
                reasons[step_id] = "its outputs are no longer in the ledger"
            else:
                reused[step_id] = outputs
    return ResumePlan(run_id, loaded, reused, reasons)


def _why_not_done(run_id: str, old: StepState | None) -> str:
    if old is None:
        return f"it was not part of run {run_id}"
    reason = f"it was {old.status} in run {run_id}"
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
            current = None if run is None else run.summary.resumed_from
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
