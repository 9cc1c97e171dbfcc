"""Checks of what a plan shares with other runs: its concurrency group and its steps' pools."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.plan.spec import GROUPS, Plan
from engine.plan.variables import OutputRef, VarRef, references

if TYPE_CHECKING:
    from engine.plan.checks import CheckResult


def check_concurrency(plan: Plan, declared_secrets: set[str], result: CheckResult) -> None:
    """A pool must be declared; a group may use ${VAR}s, but no output or secret."""
    if plan.cancel_in_progress and plan.concurrency_group is None:
        result.add(
            ("cancel_in_progress",),
            "cancel_in_progress needs a concurrency_group: it cancels the group's other runs",
        )
    if plan.concurrency_group is not None and not plan.concurrency_group.strip():
        result.add(
            ("concurrency_group",),
            f"the group's name is empty once variables are substituted "
            f"({plan.concurrency_group!r}); give a variable a value or a default",
        )
    for ref in references(plan.concurrency_group or ""):
        if isinstance(ref, OutputRef):
            result.add(
                ("concurrency_group",),
                "concurrency_group is decided before any step runs: it cannot read outputs "
                f"(steps.{ref.step_id}.outputs.{ref.name})",
            )
        elif isinstance(ref, VarRef) and ref.name in declared_secrets:
            result.add(
                ("concurrency_group",),
                f'secret "{ref.name}" cannot name a concurrency group: the name is shown and '
                "stored in the ledger as it is",
            )
    declared = ", ".join(f'"{name}"' for name in sorted(plan.pools)) or "none"
    for group in GROUPS:
        for index, step in enumerate(getattr(plan, group)):
            if step.pool is not None and step.pool not in plan.pools:
                result.add(
                    (group, index, "pool"),
                    f'pool "{step.pool}" is not declared in the plan\'s pools '
                    f"(declared: {declared})",
                )
