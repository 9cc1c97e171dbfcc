"""Where each attempt ran and when a worker started it: the ledger, `engine show` and --json."""

from __future__ import annotations

import json
import socket
import sqlite3

import pytest

from tests.e2e.conftest import Engine

pytestmark = pytest.mark.dask


def test_each_attempt_records_its_host_worker_and_placement(
    engine: Engine, dask_address: str
) -> None:
    # Two worker threads, three steps of a second at once: the third waits in Dask's queue.
    steps = [{"id": f"s{i}", "command": "sleep", "args": ["1"]} for i in range(3)]
    plan = engine.plan(steps, globals={"max_concurrency": 3})
    result = engine.run("run", plan, "--executor", "dask", "--dask-address", dask_address)
    assert result.returncode == 0, result.stderr
    attempts = engine.attempts()
    assert {a.host for a in attempts} == {socket.gethostname()}
    assert all(a.worker and a.worker.startswith("tcp://127.0.0.1:") for a in attempts)
    assert len({a.worker for a in attempts}) == 2
    queued = sorted(a.placed_at - a.started_at for a in attempts if a.placed_at is not None)
    assert len(queued) == 3
    assert queued[-1] > 0.5  # the one that waited for a thread
    with engine.reader() as reader:
        run_id = reader.list_runs(limit=1)[0].id
        placed = reader.events(run_id=run_id, types=["step_placed"])
    assert len(placed) == 3
    assert {(e.data or {})["worker"] for e in placed} == {a.worker for a in attempts}

    with sqlite3.connect(engine.ledger_path) as conn:
        queue = conn.execute("SELECT step_id, p95_queue_ms FROM v_step_stats").fetchall()
    assert len(queue) == 3 and max(ms for _, ms in queue) > 500

    # The printed lines: a step is placed (a worker took it), then started, then it ends.
    lines = [line.split("] ", 1)[1] for line in result.stdout.splitlines()]
    by_worker = {a.step_id: a.worker for a in attempts}
    for step in ("s0", "s1", "s2"):
        mine = [line for line in lines if line.startswith(f"{step}: ")]
        where = f"{step}: placed on {socket.gethostname()}, worker {by_worker[step]}"
        assert mine == [where, f"{step}: started", f"{step}: succeeded"], lines

    shown = engine.run("show", run_id)
    assert shown.returncode == 0
    assert "HOST" in shown.stdout and "QUEUED" in shown.stdout
    assert socket.gethostname() in shown.stdout
    document = json.loads(engine.run("show", run_id, "--json").stdout)
    first = document["attempts"][0]
    assert first["host"] == socket.gethostname()
    assert first["worker"].startswith("tcp://")
    assert first["placed_at"] >= first["started_at"]


def test_a_local_run_records_no_placement(engine: Engine) -> None:
    result = engine.run_plan([{"id": "a", "command": "true"}])
    assert result.returncode == 0
    attempt = engine.attempts("a")[0]
    assert (attempt.host, attempt.worker, attempt.placed_at) == (None, None, None)
    assert "HOST" not in engine.run("show", engine.last_run().id).stdout
    with sqlite3.connect(engine.ledger_path) as conn:
        queue = conn.execute("SELECT p95_queue_ms FROM v_step_stats").fetchall()
    assert queue == [(None,)]
