"""The one read API over the ledger: named questions answered with frozen dataclasses.

Used by the CLI directly and by the dashboard from worker threads. Every query is served by an
index (tests/ledger/test_query_plans.py checks with EXPLAIN QUERY PLAN).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from engine.errors import UnknownRun
from engine.ledger.connection import connect_readonly, translate_errors, unencodable_as_bytes
from engine.ledger.ids import normalize_run_id
from engine.ledger.owner import Owner
from engine.ledger.records import (
    Attempt,
    Event,
    Lease,
    Output,
    RunDetail,
    RunLinks,
    RunSummary,
    Stats,
    StepState,
)
from engine.ledger.rows import (
    ATTEMPT_COLUMNS,
    EVENT_COLUMNS,
    STEP_COLUMNS,
    SUMMARY_COLUMNS,
    SUMMARY_WIDTH,
    attempt_of,
    event_of,
    step_of,
    summary_of,
)
from engine.ledger.stats import compute_stats
from engine.ledger.status_sql import ACTIVE_RUN
from engine.ledger.times import to_iso
from engine.states import EventType, RunStatus

_ORDER_NEWEST = " ORDER BY r.created_at DESC, r.id DESC LIMIT ?"
_ORDER_OLDEST = " ORDER BY r.created_at, r.id LIMIT ?"
_MAX_CANDIDATES = 5


class LedgerReader:
    """Read-only access to one ledger; safe to share between threads (queries are serialised)."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self._lock = threading.RLock()

    @classmethod
    def open(cls, path: Path) -> LedgerReader:
        """Open an existing ledger read-only; LedgerError if it is missing, foreign or newer."""
        return cls(connect_readonly(path, check_same_thread=False), path)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> LedgerReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Run one SELECT; the single place every read goes through."""
        with self._lock, translate_errors(self.path):
            try:
                return self._conn.execute(sql, params).fetchall()
            except UnicodeEncodeError:
                return self._conn.execute(sql, unencodable_as_bytes(params)).fetchall()

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Answer every query inside the block from one consistent state of the ledger.

        Without it each query sees the latest commit, so counts from two queries may disagree.
        """
        with self._lock:
            with translate_errors(self.path):
                self._conn.execute("BEGIN")
            try:
                yield
            finally:
                with translate_errors(self.path):
                    self._conn.execute("COMMIT")

    def data_version(self) -> int:
        """Return a number that changes whenever another connection commits (cheap to poll)."""
        return int(self._query("PRAGMA data_version")[0][0])

    def resolve_run_id(self, prefix: str) -> str:
        """The one run id starting with `prefix` (like git); UnknownRun if none or several."""
        candidates: list[str] = []
        for attempt in dict.fromkeys([prefix.strip(), normalize_run_id(prefix)]):
            if not attempt:
                continue
            rows = self._query(
                "SELECT id FROM runs WHERE id >= ? AND id < ? ORDER BY id LIMIT ?",
                (attempt, attempt + "\U0010ffff", _MAX_CANDIDATES + 1),
            )
            candidates = [row[0] for row in rows]
            if attempt in candidates:
                return attempt
            if candidates:
                break
        if not candidates:
            raise UnknownRun(f"No run id starts with {prefix.strip()!r} in {self.path}.")
        if len(candidates) > 1:
            shown = ", ".join(candidates[:_MAX_CANDIDATES])
            more = " and more" if len(candidates) > _MAX_CANDIDATES else ""
            raise UnknownRun(f"Run id prefix {prefix.strip()!r} is ambiguous: {shown}{more}.")
        return candidates[0]

    def list_runs(
        self,
        *,
        status: RunStatus | None = None,
        plan: str | None = None,
        since: float | None = None,
        limit: int = 50,
        before_id: str | None = None,
        tag: str | None = None,
        after_id: str | None = None,
        at_or_before: float | None = None,
        oldest_first: bool = False,
    ) -> list[RunSummary]:
        """Return runs newest first; pass the last id of a page as `before_id` for the next page.

        `after_id` keeps the runs newer than that one and `at_or_before` those created at or
        before a time; `oldest_first` reverses the order (keyset paging in either direction).
        """
        where, params = _runs_where(status, plan, since, tag, before_id, after_id, at_or_before)
        order = _ORDER_OLDEST if oldest_first else _ORDER_NEWEST
        rows = self._query(f"SELECT {SUMMARY_COLUMNS} FROM runs r{where}{order}", (*params, limit))
        return [summary_of(row) for row in rows]

    def count_runs(
        self,
        *,
        status: RunStatus | None = None,
        tag: str | None = None,
        after_id: str | None = None,
    ) -> int:
        """How many runs match (those newer than `after_id` when given)."""
        where, params = _runs_where(status, None, None, tag, None, after_id, None)
        rows = self._query(f"SELECT count(*) FROM runs r{where}", tuple(params))
        return int(rows[0][0])

    def finished_runs_before(self, before: float, *, limit: int) -> list[RunSummary]:
        """Return the oldest finished runs created before `before`, oldest first (for gc)."""
        rows = self._query(
            f"SELECT {SUMMARY_COLUMNS} FROM runs r WHERE r.created_at < ?"
            f" AND r.status NOT IN {ACTIVE_RUN} ORDER BY r.created_at, r.id LIMIT ?",
            (to_iso(before), limit),
        )
        return [summary_of(row) for row in rows]

    def active_runs(self) -> list[RunSummary]:
        """Return the runs still pending or running, newest first."""
        rows = self._query(
            f"SELECT {SUMMARY_COLUMNS} FROM runs r WHERE r.status IN {ACTIVE_RUN}" + _ORDER_NEWEST,
            (1000,),
        )
        return [summary_of(row) for row in rows]

    def active_owners(self) -> dict[str, Owner]:
        """Return the engine process of each active run, by run id (see Owner.is_gone)."""
        rows = self._query(
            "SELECT r.id, r.owner_pid, r.owner_start_time, r.owner_host, r.owner_boot_id"
            f" FROM runs r WHERE r.status IN {ACTIVE_RUN} AND r.owner_pid IS NOT NULL",
            (),
        )
        return {
            row[0]: Owner(pid=row[1], process_start_time=row[2], host=row[3], boot_id=row[4])
            for row in rows
        }

    def get_run(self, run_id: str) -> RunDetail | None:
        """Return one run with its plan, vars and owner, or None if there is no such run."""
        rows = self._query(
            f"SELECT {SUMMARY_COLUMNS}, r.plan_hash, p.version, r.plan_path, p.plan_json,"
            " r.vars_json, r.owner_pid, r.owner_start_time, r.owner_host, r.owner_boot_id"
            " FROM runs r JOIN plans p ON p.hash = r.plan_hash WHERE r.id = ?",
            (run_id,),
        )
        if not rows:
            return None
        row = rows[0]
        extra = row[SUMMARY_WIDTH:]
        owner = None
        if extra[5] is not None:
            owner = Owner(
                pid=extra[5], process_start_time=extra[6], host=extra[7], boot_id=extra[8]
            )
        return RunDetail(
            summary=summary_of(row),
            plan_hash=extra[0],
            plan_version=extra[1],
            plan_path=extra[2],
            plan_json=extra[3],
            vars=json.loads(extra[4]),
            owner=owner,
        )

    def run_links(self, run_id: str) -> RunLinks:
        """Return the plan step that ran this run as a sub-plan, if one did, and the child runs."""
        from engine.ledger.link_reads import run_links

        return run_links(self._query, run_id)

    def run_steps(self, run_id: str) -> list[StepState]:
        """Return the steps of a run in plan order (hooks last)."""
        rows = self._query(
            f"SELECT {STEP_COLUMNS} FROM run_steps WHERE run_id = ? ORDER BY position",
            (run_id,),
        )
        return [step_of(row) for row in rows]

    def step_fingerprints(self, run_id: str) -> dict[str, dict[str, str]]:
        """Each step's fingerprint parts (engine.plan.fingerprint), where the run recorded them."""
        rows = self._query(
            "SELECT step_id, fingerprint_parts FROM run_steps"
            " WHERE run_id = ? AND fingerprint_parts IS NOT NULL",
            (run_id,),
        )
        return {step_id: json.loads(parts) for step_id, parts in rows}

    def attempts(self, run_id: str, step_id: str | None = None) -> list[Attempt]:
        """Return the attempts of a run (or of one of its steps) in the order they started."""
        if step_id is None:
            rows = self._query(
                f"SELECT {ATTEMPT_COLUMNS} FROM step_attempts WHERE run_id = ? ORDER BY id",
                (run_id,),
            )
        else:
            rows = self._query(
                f"SELECT {ATTEMPT_COLUMNS} FROM step_attempts"
                " WHERE run_id = ? AND step_id = ? ORDER BY attempt",
                (run_id, step_id),
            )
        return [attempt_of(row) for row in rows]

    def events(
        self,
        *,
        run_id: str | None = None,
        step_id: str | None = None,
        types: Iterable[EventType | str] | None = None,
        after_id: int | None = None,
        before_id: int | None = None,
        limit: int = 200,
    ) -> list[Event]:
        """Return up to `limit` events in id (commit) order.

        With `after_id`, the first events after it (to follow a stream); otherwise the latest
        ones, before `before_id` if given (to page backwards).
        """
        if step_id is not None and run_id is None:
            raise ValueError("events(step_id=...) needs run_id: step ids are per plan")
        where: list[str] = []
        params: list[Any] = []
        if run_id is not None:
            where.append("run_id = ?")
            params.append(run_id)
        if step_id is not None:
            where.append("step_id = ?")
            params.append(step_id)
        if types is not None:
            type_values = [str(t) for t in types]
            where.append(f"type IN ({', '.join('?' * len(type_values))})")
            params.extend(type_values)
        if after_id is not None:
            where.append("id > ?")
            params.append(after_id)
        if before_id is not None:
            where.append("id < ?")
            params.append(before_id)
        sql = f"SELECT {EVENT_COLUMNS} FROM events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        ascending = after_id is not None
        sql += f" ORDER BY id {'ASC' if ascending else 'DESC'} LIMIT ?"
        rows = self._query(sql, (*params, limit))
        if not ascending:
            rows.reverse()
        return [event_of(row) for row in rows]

    def outputs(self, run_id: str) -> list[Output]:
        """Return the outputs of a run, by step then name."""
        rows = self._query(
            "SELECT run_id, step_id, attempt, name, value FROM outputs"
            " WHERE run_id = ? ORDER BY step_id, name",
            (run_id,),
        )
        return [Output(*row) for row in rows]

    def circuit(self, key: str, failures: int, within_sec: float, open_for_sec: float) -> Any:
        """The state now of a circuit breaker (engine.ledger.circuits.CircuitState)."""
        from engine.ledger.circuits import circuit_state

        return circuit_state(self._query, key, failures, within_sec, open_for_sec)

    def circuits(self, now: float | None = None) -> list[Any]:
        """Every circuit breaker's state at `now` (engine.ledger.circuits.CircuitReport)."""
        from engine.ledger.circuits import all_circuits

        with self.snapshot():
            return all_circuits(self._query, time.time() if now is None else now)

    def leases(self, run_id: str | None = None) -> list[Lease]:
        """Return a run's group and pool leases, or (no run) every one held or waited for now."""
        from engine.ledger.lease_reads import open_leases, run_leases

        return open_leases(self._query) if run_id is None else run_leases(self._query, run_id)

    def stats(
        self, since: float, *, until: float | None = None, buckets: int = 24, top: int = 5
    ) -> Stats:
        """Return totals, success rate, percentiles, flakiest/slowest steps and throughput."""
        end = time.time() if until is None else until
        with self.snapshot():
            return compute_stats(self._query, since=since, until=end, buckets=buckets, top=top)


def _runs_where(
    status: RunStatus | None,
    plan: str | None,
    since: float | None,
    tag: str | None,
    before_id: str | None,
    after_id: str | None,
    at_or_before: float | None,
) -> tuple[str, list[Any]]:
    """The WHERE clause (with its leading space, or empty) and parameters of a runs listing."""
    where: list[str] = []
    params: list[Any] = []
    if status is not None:
        where.append("r.status = ?")
        params.append(str(status))
    if plan is not None:
        where.append("r.plan_name = ?")
        params.append(plan)
    if since is not None:
        where.append("r.created_at >= ?")
        params.append(to_iso(since))
    if at_or_before is not None:
        where.append("r.created_at <= ?")
        params.append(to_iso(at_or_before))
    if tag is not None:
        where.append(
            "EXISTS (SELECT 1 FROM plans pt, json_each(pt.tags) t"
            " WHERE pt.hash = r.plan_hash AND t.value = ?)"
        )
        params.append(tag)
    if before_id is not None:
        where.append("(r.created_at, r.id) < ((SELECT created_at FROM runs WHERE id = ?), ?)")
        params.extend((before_id, before_id))
    if after_id is not None:
        where.append("(r.created_at, r.id) > ((SELECT created_at FROM runs WHERE id = ?), ?)")
        params.extend((after_id, after_id))
    return (" WHERE " + " AND ".join(where) if where else ""), params
