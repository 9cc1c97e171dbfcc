"""One status-colour table: `engine`'s tables and the dashboard colour every status alike."""

from __future__ import annotations

from engine.cli.output import status_text
from engine.palette import DERIVED_STATES, STATUS_ROLE, TERMINAL_STYLE
from engine.states import AttemptStatus, RunStatus, StepStatus
from ledger_tui.widgets.cells import STATUS_VARIABLE


def test_every_status_has_one_role_shared_by_the_cli_and_the_dashboard() -> None:
    statuses = {str(s) for enum in (RunStatus, StepStatus, AttemptStatus) for s in enum}
    assert statuses | set(DERIVED_STATES) == set(STATUS_ROLE)
    for status, role in STATUS_ROLE.items():
        assert str(status_text(status).style) == TERMINAL_STYLE[role]
        assert STATUS_VARIABLE[status] == str(role)
    assert str(status_text("unknown").style) == ""
