"""A step's circuit breaker, as the attempt loop uses it: fail fast while open, count attempts.

The state lives in the ledger (engine.ledger.circuits), so every run and every engine on the
ledger sees the same circuit. Only steps that declare a `circuit` pay for a query per attempt.

A half-open circuit lets one trial attempt through. Within this engine, its steps check a circuit
one at a time, and a trial holds the circuit until its attempt is filed under it: a step checking
meanwhile then sees the trial running and fails fast (a matrix sharing a `key` would otherwise
start all its expansions as trials at once).
"""

from __future__ import annotations

import asyncio
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
        self._checks: dict[str, asyncio.Lock] = {}  # circuit key -> one check at a time
        self._trials: dict[str, asyncio.Lock] = {}  # step id -> the lock its trial holds

    async def refusal(self, step: Step) -> str | None:
        """Why the next attempt of `step` must fail fast (its circuit is open), or None.

        None for a half-open circuit makes the attempt its trial: the circuit stays held until
        `count` (or `settled`) for the step.
        """
        circuit = step.circuit
        assert circuit is not None
        key = circuit_key(self._plan_name, step)
        lock = self._checks.setdefault(key, asyncio.Lock())
        await lock.acquire()
        try:
            now = time.time()
            rows = await self._recorder.writer.read(
                STATE, state_params(key, circuit.within_sec, now)
            )
            state = judge(
                key, rows[0], failures=circuit.failures, open_for_sec=circuit.open_for_sec
            )
            refused = state.refusal(now, circuit.within)
        except BaseException:
            lock.release()
            raise
        if refused is None and state.opened:
            self._trials[step.id] = lock
        else:
            lock.release()
        return refused

    async def count(self, step: Step, attempt: int) -> None:
        """File a started attempt under its circuit's key (after its row is committed)."""
        params = (circuit_key(self._plan_name, step), self._recorder.run_id, step.id, attempt)
        try:
            await self._recorder.writer.transact(functools.partial(_mark, params=params))
        finally:
            self.settled(step)

    def settled(self, step: Step) -> None:
        """Lets the next step check the circuit, if `step`'s trial held it; idempotent."""
        held = self._trials.pop(step.id, None)
        if held is not None:
            held.release()


def _mark(conn: sqlite3.Connection, params: tuple[str, str, str, int]) -> None:
    conn.execute(MARK, params)
