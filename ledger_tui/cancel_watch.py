"""Whether a cancel may be asked, and whether it took effect (no Textual).

Only a pending or running step (or an active run) can be canceled: the engine ignores a request
for a finished one, so the dashboard refuses it rather than claim it asked. After asking, the
run detail watches the ledger and says what became of the step (or run).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from engine.states import RunStatus, StepStatus
from ledger_tui.queries import RunPayload

# The engine looks for requests every second and gives a step `kill_grace_sec` (5 s by default)
# to exit after SIGTERM; past this, say the cancel has not taken effect (yet).
PATIENCE_SEC = 15.0

Severity = Literal["information", "warning", "error"]


def refusal(payload: RunPayload, step_id: str | None) -> str | None:
    """Why this cancel cannot be asked, or None when it can."""
    detail = payload.detail
    if detail is None:
        return None
    if detail.status.is_final:
        return f"Run {detail.summary.id} already finished ({detail.status})."
    if step_id is None:
        return None
    step = next((s for s in payload.steps if s.step_id == step_id), None)
    if step is not None and step.status.is_final:
        return (
            f"Step {step_id} already finished ({step.status}); "
            "only a pending or running step can be canceled."
        )
    return None


@dataclass(frozen=True)
class CancelWatch:
    """A cancel the dashboard asked for, waiting for the ledger to show its effect."""

    step_id: str | None  # None: the whole run
    patience_sec: float = PATIENCE_SEC

    @property
    def what(self) -> str:
        return f"Step {self.step_id}" if self.step_id else "The run"

    def outcome(self, payload: RunPayload) -> tuple[str, Severity] | None:
        """The message once the step (or run) has ended, else None."""
        detail = payload.detail
        if detail is None:
            return None
        if self.step_id is None:
            status: RunStatus | StepStatus = detail.status
        else:
            step = next((s for s in payload.steps if s.step_id == self.step_id), None)
            if step is None:
                return None
            status = step.status
        if not status.is_final:
            return None
        if status in (RunStatus.CANCELED, StepStatus.CANCELED):
            return f"{self.what} was canceled.", "information"
        return f"{self.what} ended {status} before the cancel took effect.", "warning"

    def overdue(self) -> str:
        return (
            f"{self.what} has not ended {self.patience_sec:g} s after the cancel request: "
            "is its engine still running? (it acts on requests within a second)"
        )
