"""The run detail's sub-plan links: a plan step's child run, opened with enter; `u` goes up to the
run whose plan step started this one (docs/plans.md, "Sub-plans")."""

from __future__ import annotations

from typing import ClassVar

from textual.app import SystemCommand
from textual.binding import Binding, BindingType

from engine.ledger.records import RunLinks
from ledger_tui.screens.log_tools import LogToolsScreen
from ledger_tui.sub_plans import child_of


class RunLinksScreen(LogToolsScreen):
    """Keys that move between a run and its sub-plan runs; subclasses keep `links` current."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("u", "parent_run", "Parent run", show=False, id="run.parent"),
    ]

    links: RunLinks | None = None

    def run_screen(self, run_id: str) -> RunLinksScreen:
        """A run detail screen for another run (the subclass's own kind)."""
        raise NotImplementedError

    def open_child(self, step_id: str | None) -> bool:
        """Open the run detail of the run `step_id` started, on top of this one; False if none."""
        child = child_of(self.links, step_id)
        if child is None:
            return False
        self.app.push_screen(self.run_screen(child.run_id))
        return True

    def action_parent_run(self) -> None:
        """Go to the run whose plan step started this one: back to it if it is underneath."""
        parent = self.links.parent_run_id if self.links is not None else None
        if parent is None:
            self.notify(f"Run {self.run_id} was not started by a plan step.", severity="warning")
            return
        stack = self.app.screen_stack
        below = stack[-2] if len(stack) > 1 else None
        if isinstance(below, RunLinksScreen) and below.run_id == parent:
            self.app.pop_screen()
        else:
            self.app.switch_screen(self.run_screen(parent))

    def link_commands(self) -> list[SystemCommand]:
        return [SystemCommand("Parent run", "Open the run that started this one (u)",
                              self.action_parent_run)]  # fmt: skip
