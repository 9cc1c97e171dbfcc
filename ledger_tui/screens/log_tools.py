"""The run detail's log tools: search, the log in $PAGER or $EDITOR, copying ids and paths.

A screen with these keys; the run detail says which run, step and log file they act on.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Iterable, Mapping
from typing import ClassVar

from textual.app import SuspendNotSupported, SystemCommand
from textual.binding import Binding, BindingType
from textual.widgets import TabbedContent

from ledger_tui.screens.base import LedgerScreen
from ledger_tui.widgets.log_pane import LogPane


def external_command(kind: str, path: str, environ: Mapping[str, str]) -> list[str]:
    """The argv that opens `path` in the user's pager (`$PAGER`, else less) or editor
    (`$VISUAL`, `$EDITOR`, else vi), as git does."""
    if kind == "pager":
        chosen = environ.get("PAGER") or "less"
    else:
        chosen = environ.get("VISUAL") or environ.get("EDITOR") or "vi"
    return [*shlex.split(chosen), path]


class LogToolsScreen(LedgerScreen):
    """Keys for the shown log; subclasses set `run_id`, `selected_step` and `log_path`."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search_log", "Find", id="run.search", priority=True),
        Binding("n", "next_match", "Next match", show=False, id="run.next_match"),
        Binding("N", "previous_match", "Previous match", show=False, id="run.previous_match"),
        Binding("p", "open_log('pager')", "Pager", show=False, id="run.pager"),
        Binding("e", "open_log('editor')", "Editor", show=False, id="run.editor"),
        Binding("y", "copy('run')", "Copy run id", show=False, id="run.copy_run_id"),
        Binding("Y", "copy('log')", "Copy log path", show=False, id="run.copy_log_path"),
    ]

    run_id: str
    selected_step: str | None
    log_path: str | None = None  # the file of the attempt shown

    def log_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand("Search log", "Find text in the shown log (/)", self.action_search_log)
        for kind, key in (("pager", "p"), ("editor", "e")):
            yield SystemCommand(
                f"Open log in {kind}",
                f"Hand the terminal to $PAGER/$EDITOR ({key})",
                lambda k=kind: self.action_open_log(k),
            )
        for what, label in (("run", "run id"), ("step", "step id"), ("log", "log path")):
            yield SystemCommand(
                f"Copy {label}", "To the clipboard (OSC 52)", lambda w=what: self.action_copy(w)
            )

    def action_search_log(self) -> None:
        self.query_one("#run-tabs", TabbedContent).active = "tab-log"
        self.query_one(LogPane).open_search()

    def action_next_match(self) -> None:
        self.query_one(LogPane).next_match(forward=True)

    def action_previous_match(self) -> None:
        self.query_one(LogPane).next_match(forward=False)

    def action_open_log(self, kind: str) -> None:
        path = self.log_path
        if path is None or not os.path.exists(path):
            self.notify("This attempt has no log file to open.", severity="warning")
            return
        argv = external_command(kind, path, os.environ)
        try:
            with self.app.suspend():
                subprocess.run(argv, check=False)
        except SuspendNotSupported:
            self.notify(f"This terminal cannot be handed over; the log is {path}", timeout=10)
        except OSError as error:
            self.notify(f"Could not run {argv[0]}: {error.strerror}.", severity="error")

    def action_copy(self, what: str) -> None:
        value = {"run": self.run_id, "step": self.selected_step, "log": self.log_path}.get(what)
        label = {"run": "run id", "step": "step id", "log": "log path"}.get(what, what)
        if not value:
            self.notify(f"There is no {label} to copy here.", severity="warning")
            return
        self.app.copy_to_clipboard(value)
        self.notify(f"Copied the {label} {value} (if your terminal allows OSC 52).")
