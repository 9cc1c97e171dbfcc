"""Extend a live run's timeout, or its running step's, from the run detail: `T`, a duration, a
confirmation, then the request `engine extend` writes (engine.ledger.extend); the engine answers
in the same row and the dashboard says what it answered."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from engine.errors import UserError
from engine.ledger.records import RunDetail, StepState
from engine.states import StepStatus
from ledger_tui.screens.confirm import ConfirmScreen
from ledger_tui.screens.run_links import RunLinksScreen

ANSWER_WAIT_SEC = 15.0  # as long as the cancel watch waits for the engine
_DURATION = re.compile(r"(?:[0-9]+(?:\.[0-9]+)?[smhd])+")
_UNIT_SEC = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str) -> float | None:
    """Seconds in `90s`, `10m`, `1h30m`, `2d`; None for anything else (or nothing)."""
    value = text.strip().lower()
    if not _DURATION.fullmatch(value):
        return None
    found = re.findall(r"([0-9.]+)([smhd])", value)
    seconds = sum(float(n) * _UNIT_SEC[u] for n, u in found)
    return seconds if seconds > 0 else None


@dataclass(frozen=True)
class ExtendAsk:
    """What the user asked for: lengthen the run's timeout (`step_id` None) or a step's."""

    step_id: str | None
    by_sec: float
    text: str  # as typed, for the messages


def refusal(detail: RunDetail | None) -> str | None:
    """Why nothing can be extended for this run now, in one sentence; None if it can."""
    if detail is None:
        return "The run is not loaded yet."
    if detail.status.is_final:
        return (
            f"Run {detail.id} already finished ({detail.status}): only a live run's timeout"
            " can be extended."
        )
    return None


class ExtendScreen(ModalScreen[ExtendAsk | None]):
    """A duration, and whether it lengthens the run's timeout or the running step's."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss_none", "Cancel", id="extend.cancel"),
    ]

    def __init__(self, run_id: str, step_id: str | None, note: str = "") -> None:
        super().__init__()
        self.run_id = run_id
        self.step_id = step_id  # a running step the cursor is on, offered beside the run
        self.note = note  # why the step under the cursor is not offered

    def compose(self) -> ComposeResult:
        with Vertical(id="extend-dialog"):
            yield Static(
                f"Extend a timeout of run {self.run_id} by (90s, 10m, 1h30m):",
                id="extend-question",
                markup=False,
            )
            yield Input(placeholder="10m", id="extend-by")
            yield Static(self.note, id="extend-problem", markup=False)
            with Horizontal(id="extend-buttons"):
                yield Button("The run's (enter)", variant="primary", id="extend-run")
                if self.step_id is not None:
                    label = Text(f"Step {self.step_id}'s")  # not markup: test[os=linux]
                    yield Button(label, id="extend-step")
                yield Button("Cancel (esc)", id="extend-cancel")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self._answer(None)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "extend-cancel":
            self.dismiss(None)
        else:
            self._answer(self.step_id if event.button.id == "extend-step" else None)

    def _answer(self, step_id: str | None) -> None:
        text = self.query_one(Input).value.strip()
        seconds = parse_duration(text)
        if seconds is None:
            problem = f"{text!r} is not a duration: write e.g. 90s, 10m or 1h30m."
            self.query_one("#extend-problem", Static).update(problem)
            return
        self.dismiss(ExtendAsk(step_id, seconds, text))

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


class RunExtendScreen(RunLinksScreen):
    """The run detail's `T`; subclasses say which run and step are shown (`extend_context`)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("T", "extend_timeout", "Extend timeout", show=False, id="run.extend"),
    ]

    def extend_context(self) -> tuple[RunDetail | None, StepState | None]:
        """The run shown and the step under the cursor."""
        raise NotImplementedError

    def action_extend_timeout(self) -> None:
        """Ask for a duration, confirm, then ask the engine to lengthen the timeout."""
        detail, step = self.extend_context()
        refused = refusal(detail)
        if refused or detail is None:
            self.notify(refused or "", severity="warning")
            return
        running = step is not None and step.status is StepStatus.RUNNING
        chosen = step.step_id if step is not None and running else None
        note = ""
        if step is not None and not running:  # e.g. past its deadline: its timeout fired
            note = f"Step {step.step_id} is {step.status}: only a running step's can be extended."

        def asked(ask: ExtendAsk | None) -> None:
            if ask is not None:
                self._confirm_extend(ask)

        self.app.push_screen(ExtendScreen(detail.id, chosen, note), asked)

    def _confirm_extend(self, ask: ExtendAsk) -> None:
        what = f"run {self.run_id}" if ask.step_id is None else f"step {ask.step_id}"

        def answered(yes: bool | None) -> None:
            if yes:
                self._send_extend(ask)

        question = f"Extend the timeout of {what} by {ask.text}?"
        self.app.push_screen(ConfirmScreen(question, "Extend it"), answered)

    @work(thread=True, group="extend")
    def _send_extend(self, ask: ExtendAsk) -> None:
        from engine.ledger.extend import read_request

        try:
            request_id = self.context.request_extend(self.run_id, ask.step_id, ask.by_sec)
        except UserError as error:
            self.app.call_from_thread(self.notify, error.message, severity="warning")
            return
        self.app.call_from_thread(self.notify, f"Asked the engine to extend ({ask.text}).")
        deadline = time.monotonic() + ANSWER_WAIT_SEC
        while time.monotonic() < deadline:
            answer = read_request(self.context.ledger_path, request_id)
            if answer is not None and answer.handled_at is not None:
                text = answer.message or str(answer.outcome)
                severity = "information" if answer.outcome == "extended" else "warning"
                sentence = text[:1].upper() + text[1:] + "."
                self.app.call_from_thread(self.notify, sentence, severity=severity)
                return
            time.sleep(0.1)
        self.app.call_from_thread(
            self.notify,
            f"The engine running run {self.run_id} has not answered within"
            f" {ANSWER_WAIT_SEC:g}s; request {request_id} stays pending.",
            severity="warning",
        )
