"""The Stats view's Circuits panel: the circuit breakers open or half-open now, derived from the
ledger (engine.ledger.circuits), with when each lets a trial attempt through."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.text import Text
from textual.widgets import Static

from engine.ledger.circuits import CircuitReport
from ledger_tui import format as fmt
from ledger_tui.widgets.cells import theme_style


def circuit_lines(
    reports: Sequence[CircuitReport], now: float, variables: Mapping[str, str]
) -> Text:
    """One line per circuit that is not closed; a sentence when all are."""
    shown = [r for r in reports if r.describe(now) != "closed"]
    if not shown:
        closed = len(reports)
        return Text(
            f"No circuit is open ({fmt.plural(closed, 'circuit')} known, all closed)."
            if closed
            else "No step declares a circuit breaker yet.",
            style="dim",
        )
    text = Text()
    for report in shown:
        state, word = report.state, report.describe(now)
        style = theme_style(variables, "error" if word == "open" else "warning", bold=True)
        text.append(f"{word:<10}", style=style)
        text.append(f' "{state.key}"  ', style="bold")
        text.append(
            f"{state.failures} of {report.failures} failures within {report.within},"
            f" the last at {fmt.clock_time(state.last_failure)}"
        )
        if word == "open" and state.reopens_at is not None:
            text.append(f"; next trial after {fmt.clock_time(state.reopens_at)}")
        text.append(f"   step {report.step_id} of run {report.run_id}\n", style="dim")
    text.rstrip()
    return text


class CircuitsPanel(Static):
    """Shows `circuit_lines`; the Stats query reads the reports."""

    def show(self, reports: Sequence[CircuitReport], now: float) -> None:
        self.update(circuit_lines(reports, now, self.app.theme_variables))
