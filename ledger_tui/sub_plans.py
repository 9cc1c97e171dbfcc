"""What the run detail says of sub-plan links: a plan step's child run, a child's parent (no
Textual)."""

from __future__ import annotations

from engine.ledger.records import ChildRun, RunLinks


def child_of(links: RunLinks | None, step_id: str | None) -> ChildRun | None:
    """The run a plan step started (its latest, if it started more than one)."""
    if links is None or step_id is None:
        return None
    found = [child for child in links.children if child.step_id == step_id]
    return found[-1] if found else None


def parent_note(links: RunLinks | None) -> str | None:
    """The header's line for a child run: which plan step of which run started it."""
    if links is None or links.parent_run_id is None:
        return None
    return f"sub-plan of run {links.parent_run_id}, step {links.parent_step_id} (u opens it)"


def child_text(child: ChildRun) -> str:
    """What the Reason column says of a plan step's child run."""
    return f"run {child.run_id} {child.status} (⏎ opens it)"
