"""A step's circuit breaker, as the attempt loop uses it: fail fast while open, count attempts.

The state lives in the ledger (engine.ledger.circuits), so every run and every engine on the
ledger sees the same circuit. Only steps that declare a `circuit` pay for a query per attempt.
"""

from __future__ import annotations

import functools
import sqlite3
import time

from engine.ledger.circuits import MARK, STATE, judge, state_params
from engine.plan.spec import Step
from engine.run.recorder import Recorder


def circuit_key(plan_name: str, step: Step) -> str:
    """The circuit's name: its `key`, else the plan name and step id."""
    assert step.circuit is not None
    return step.circuit.key or f"{plan_name}/{step.id}"


class Circuits:
    """Checks the circuit before an attempt, and files each attempt under its circuit's key."""

    def __init__(self, recorder: Recorder, plan_name: str) -> None:
        self._recorder = recorder
        self._plan_name = plan_name

    async def refusal(self, step: Step) -> str | None:
        """Why the next attempt of `step` must fail fast (its circuit is open), or None."""
        circuit = step.circuit
        assert circuit is not None
        key, now = circuit_key(self._plan_name, step), time.time()
        rows = await self._recorder.writer.read(STATE, state_params(key, circuit.within_sec, now))
        state = judge(key, rows[0], failures=circuit.failures, open_for_sec=circuit.open_for_sec)
        return state.refusal(now, circuit.within)

    async def count(self, step: Step, attempt: int) -> None:
        """File a started attempt under its circuit's key (after its row is committed)."""
        params = (circuit_key(self._plan_name, step), self._recorder.run_id, step.id, attempt)
        await self._recorder.writer.transact(functools.partial(_mark, params=params))


def _mark(conn: sqlite3.Connection, params: tuple[str, str, str, int]) -> None:
    conn.execute(MARK, params)
