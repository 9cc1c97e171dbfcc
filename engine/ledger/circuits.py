"""Circuit breakers, derived from the ledger: the recent failed attempts under a circuit's key.

A circuit is open when `failures` attempts failed within `within` since its last success, until
`open_for` has passed since the last of them; then it is half-open: one trial attempt may start
(while it runs, others still fail fast), and its outcome closes or reopens the circuit. Fast
failures (`circuit_open`) are not failures of the service and never count.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from engine.humanize import plural
from engine.ledger.times import from_iso, to_iso

MARK = "UPDATE step_attempts SET circuit_key = ? WHERE run_id = ? AND step_id = ? AND attempt = ?"
# One snapshot: the last success, then the failures after it (and within the window), then
# whether a trial started after the last failure is still running. The key and the window's start
# are bound once, as plain `?`s in `p` (numbered placeholders bound from a sequence are deprecated).
STATE = """
WITH p AS (SELECT ? AS key, ? AS since),
ok AS (
    SELECT coalesce(max(finished_at), '') AS at FROM step_attempts, p
    WHERE circuit_key = p.key AND status = 'succeeded'
),
failed AS (
    SELECT a.finished_at FROM step_attempts a, ok, p
    WHERE a.circuit_key = p.key AND a.status = 'failed'
      AND a.error_code IS NOT 'circuit_open' AND a.finished_at >= p.since AND a.finished_at > ok.at
)
SELECT (SELECT count(*) FROM failed), (SELECT max(finished_at) FROM failed),
       (SELECT count(*) FROM step_attempts, p WHERE circuit_key = p.key AND status = 'running'
          AND started_at > coalesce((SELECT max(finished_at) FROM failed), ''))
"""


@dataclass(frozen=True)
class CircuitState:
    """Where a circuit stands at `now`."""

    key: str
    failures: int  # failed attempts counted (within the window, since the last success)
    last_failure: float | None
    opened: bool  # failures reached the threshold
    reopens_at: float | None  # when a trial may start, while open
    trial_running: bool

    def refusal(self, now: float, within: str) -> str | None:
        """Why an attempt may not start now (the circuit is open), or None."""
        if not self.opened:
            return None
        assert self.last_failure is not None and self.reopens_at is not None
        failed = plural(self.failures, "failure")
        since = f"{failed} within {within}, the last at {to_iso(self.last_failure)}"
        if now < self.reopens_at:
            trial = to_iso(self.reopens_at)
            return f'circuit "{self.key}" is open ({since}); next trial after {trial}'
        if self.trial_running:
            return f'circuit "{self.key}" is half-open ({since}); a trial attempt is running'
        return None


def state_params(key: str, within_sec: float, now: float) -> tuple[str, str]:
    """The STATE query's parameters: the key, and the start of the window."""
    return (key, to_iso(now - within_sec))


def judge(key: str, row: Sequence[Any], *, failures: int, open_for_sec: float) -> CircuitState:
    """The state from the STATE query's row."""
    count, last, trials = int(row[0]), row[1], int(row[2])
    last_at = None if last is None else from_iso(last)
    opened = count >= failures and last_at is not None
    reopens = last_at + open_for_sec if opened and last_at is not None else None
    return CircuitState(key, count, last_at, opened, reopens, trials > 0)


def circuit_state(
    query: Callable[[str, Sequence[Any]], list[Any]],
    key: str,
    failures: int,
    within_sec: float,
    open_for_sec: float,
) -> CircuitState:
    """A circuit's state now, through a reader's query (LedgerReader.circuit)."""
    row = query(STATE, state_params(key, within_sec, time.time()))[0]
    return judge(key, row, failures=failures, open_for_sec=open_for_sec)


# Every key attempts counted under, with the run and step of its latest attempt (partial index).
KEYS = (
    "SELECT circuit_key, run_id, step_id, max(coalesce(finished_at, started_at))"
    " FROM step_attempts WHERE circuit_key IS NOT NULL GROUP BY circuit_key ORDER BY circuit_key"
)
PLAN = "SELECT p.plan_json FROM runs r JOIN plans p ON p.hash = r.plan_hash WHERE r.id = ?"
_UNIT_SEC = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


@dataclass(frozen=True)
class CircuitReport:
    """A circuit's state now, judged by the settings of the step that last counted under it."""

    state: CircuitState
    run_id: str  # the run of that step's latest attempt
    step_id: str
    failures: int  # the settings: failures within `within` open it for `open_for`
    within: str
    open_for: str

    def describe(self, now: float) -> str:
        """`open until …`, `half-open: a trial attempt is running`, or `closed`."""
        state = self.state
        if not state.opened or state.reopens_at is None:
            return "closed"
        if now < state.reopens_at:
            return "open"
        return "half-open (trial running)" if state.trial_running else "half-open"


def _seconds(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    found = re.findall(r"([0-9]+(?:\.[0-9]+)?)([smhdw])", str(value))
    return sum(float(n) * _UNIT_SEC[u] for n, u in found)


def _settings(plan_json: str, step_id: str) -> dict[str, Any] | None:
    """The `circuit` of `step_id` (or of the matrix step it expands) in a stored plan."""
    try:
        plan = json.loads(plan_json)
    except ValueError:
        return None
    written = step_id.partition("[")[0] if step_id.endswith("]") else step_id
    for group in ("steps", "on_success", "on_failure", "on_exit"):
        for step in plan.get(group) or () if isinstance(plan, dict) else ():
            if isinstance(step, dict) and step.get("id") == written:
                circuit = step.get("circuit")
                return circuit if isinstance(circuit, dict) else None
    return None


def all_circuits(
    query: Callable[[str, Sequence[Any]], list[Any]], now: float
) -> list[CircuitReport]:
    """Every circuit the ledger knows of, each judged as the step that last used it declares it."""
    reports = []
    for key, run_id, step_id, _ in query(KEYS, ()):
        plans = query(PLAN, (run_id,))
        settings = _settings(plans[0][0], step_id) if plans else None
        if settings is None or "failures" not in settings:
            continue
        within, open_for = settings.get("within", "0s"), settings.get("open_for", "0s")
        row = query(STATE, state_params(key, _seconds(within), now))[0]
        state = judge(key, row, failures=int(settings["failures"]), open_for_sec=_seconds(open_for))
        reports.append(
            CircuitReport(
                state, run_id, step_id, int(settings["failures"]), str(within), str(open_for)
            )
        )
    return reports
