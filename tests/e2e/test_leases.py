"""Concurrency groups and pools shared by real engines on one ledger, and kill -9 of a holder."""

from __future__ import annotations

import itertools
import signal
import subprocess
from pathlib import Path
from typing import Any

import psutil

from engine.ledger.records import Lease
from tests.e2e.conftest import Engine, Result
from tests.e2e.test_recorder import assert_same, stream_and_ledger
from tests.support import live_processes_with, wait_for


def gate(path: Path) -> dict[str, Any]:
    """A step that runs until `path` exists: the test decides when it ends, not a clock."""
    return {"command": "sh", "args": ["-c", f'while [ ! -e "{path}" ]; do sleep 0.02; done']}


def all_leases(engine: Engine) -> list[Lease]:
    with engine.reader() as reader:
        return [lease for run in reader.list_runs(limit=100) for lease in reader.leases(run.id)]


def open_leases(engine: Engine) -> list[Lease]:
    try:
        with engine.reader() as reader:
            return reader.leases()
    except Exception:  # the ledger may not exist yet
        return []


def states(engine: Engine, kind: str) -> list[str]:
    return sorted(lease.state for lease in open_leases(engine) if lease.kind == kind)


def most_held_at_once(leases: list[Lease]) -> int:
    """The largest number of these leases held at one instant, from the ledger's own times."""
    edges: list[tuple[float, int]] = []
    for lease in leases:
        assert lease.acquired_at is not None and lease.released_at is not None, lease
        edges += [(lease.acquired_at, 1), (lease.released_at, -1)]
    held = most = 0
    for _, change in sorted(edges, key=lambda edge: (edge[0], edge[1])):  # releases first
        held += change
        most = max(most, held)
    return most


def test_runs_of_one_group_take_turns(engine: Engine) -> None:
    go = engine.tmp_path / "go"
    plan = engine.plan(
        [{"id": "deploy", **gate(go)}], concurrency_group="release-${BRANCH}",
        vars={"BRANCH": "main"},
    )  # fmt: skip
    first = engine.start("run", plan)
    wait_for(lambda: states(engine, "group") == ["held"], timeout=30)
    second = engine.start("run", plan)
    waiting = wait_for(
        lambda: [lease for lease in open_leases(engine) if lease.state == "waiting"], timeout=30
    )
    holder = engine.runs()[-1].id  # the first run
    assert waiting[0].name == "release-main" and waiting[0].waits_for == (holder,)
    shown = engine.run("show", waiting[0].run_id)
    assert f"group     release-main  waiting for run {holder}" in shown.stdout
    go.touch()
    assert first.wait(timeout=60) == 0 and second.wait(timeout=60) == 0
    groups = [lease for lease in all_leases(engine) if lease.kind == "group"]
    assert [lease.state for lease in groups] == ["released", "released"]
    assert most_held_at_once(groups) == 1
    with engine.reader() as reader:
        for lease in groups:  # every step ran while its run held the group
            for attempt in reader.attempts(lease.run_id):
                assert lease.acquired_at is not None and lease.released_at is not None
                assert attempt.finished_at is not None
                assert lease.acquired_at <= attempt.started_at <= attempt.finished_at
                assert attempt.finished_at <= lease.released_at
        events = reader.events(run_id=waiting[0].run_id, types=["run_waiting"])
    assert [event.data for event in events] == [
        {
            "concurrency_group": "release-main",
            "waits_for": [holder],
            "reason": f'concurrency group "release-main" is held by run {holder}',
        }
    ]


def test_a_pool_is_shared_by_every_run_on_the_ledger(engine: Engine) -> None:
    go = engine.tmp_path / "go"
    steps = [{"id": f"query{i}", **gate(go), "pool": "db"} for i in range(3)]
    plan = engine.plan(steps, pools={"db": 2})
    runs = [engine.start("run", plan, "--json"), engine.start("run", plan, "--json")]
    # Six steps, two slots: two hold the pool and four wait, whichever run they belong to.
    wait_for(lambda: states(engine, "pool") == ["held"] * 2 + ["waiting"] * 4, timeout=30)
    go.touch()
    outputs = [proc.communicate(timeout=60) for proc in runs]
    assert [proc.returncode for proc in runs] == [0, 0]
    for stdout, stderr in outputs:  # the waits are in --json as in the ledger, field for field
        stream, ledger = stream_and_ledger(engine, Result(0, stdout, stderr))
        assert_same(stream, ledger)
    pooled = [lease for lease in all_leases(engine) if lease.kind == "pool"]
    assert len(pooled) == 6 and {lease.state for lease in pooled} == {"released"}
    assert most_held_at_once(pooled) == 2
    shown = engine.run("show", pooled[0].run_id)
    assert "POOL" in shown.stdout and "db" in shown.stdout
    with engine.reader() as reader:
        waits = reader.events(types=["step_waiting"], limit=1000)
    assert len(waits) >= 4 and all(event.step_id for event in waits)
    for event in waits:  # the keys docs/ledger.md lists for step_waiting, and no others
        assert event.data is not None and set(event.data) == {"pool", "waits_for", "reason"}
        assert event.data["pool"] == "db" and event.data["waits_for"]
        assert event.data["reason"].startswith('pool "db" is full (2 held by run')


def test_no_wait_ends_at_once_when_the_group_is_taken(engine: Engine) -> None:
    go = engine.tmp_path / "go"
    plan = engine.plan([{"id": "deploy", **gate(go)}], concurrency_group="deploy")
    first = engine.start("run", plan)
    holder = wait_for(lambda: [lease.run_id for lease in open_leases(engine)], timeout=30)[0]
    refused = engine.run("run", plan, "--no-wait")
    assert refused.returncode == 75
    assert f'concurrency group "deploy" is held by run {holder}; not waiting' in refused.stdout
    run = engine.last_run()
    assert run.status == "canceled" and run.error is not None and "--no-wait" in run.error
    assert engine.statuses(run.id) == {"deploy": "skipped"}
    go.touch()
    assert first.wait(timeout=60) == 0


def test_cancel_in_progress_cancels_the_holder(engine: Engine, marker: str) -> None:
    steps = [{"id": "deploy", "command": "sleep", "args": [marker]}]
    plan = engine.plan(steps, concurrency_group="deploy", globals={"kill_grace_sec": 0.5})
    old = engine.start("run", plan)
    holder = wait_for(lambda: [lease.run_id for lease in open_leases(engine)], timeout=30)[0]
    wait_for(lambda: live_processes_with(marker), timeout=30)
    fast = engine.plan(
        [{"id": "deploy", "command": "true"}], concurrency_group="deploy", cancel_in_progress=True
    )
    new = engine.run("run", fast)
    assert new.returncode == 0, new.stdout + new.stderr
    assert old.wait(timeout=60) == 1
    runs = {run.id: run for run in engine.runs()}
    assert runs[holder].status == "canceled"
    newest = engine.last_run()
    assert runs[holder].error == f"canceled by run {newest.id} (cancel_in_progress)"
    assert most_held_at_once([x for x in all_leases(engine) if x.kind == "group"]) == 1


def test_sigint_while_waiting_cancels_the_waiting_run_only(engine: Engine) -> None:
    go = engine.tmp_path / "go"
    plan = engine.plan(
        [{"id": "deploy", **gate(go)}], concurrency_group="deploy",
        on_exit=[{"id": "cleanup", "command": "true"}],
    )  # fmt: skip
    first = engine.start("run", plan)
    wait_for(lambda: states(engine, "group") == ["held"], timeout=30)
    second = engine.start("run", plan)
    wait_for(lambda: states(engine, "group") == ["held", "waiting"], timeout=30)
    second.send_signal(signal.SIGINT)
    assert second.wait(timeout=60) == 130
    waited = engine.last_run()
    assert waited.status == "canceled"
    assert waited.error == 'canceled by SIGINT while waiting for concurrency group "deploy"'
    # Nothing of it ran, hooks included: it never held the group.
    assert engine.statuses(waited.id) == {"deploy": "skipped", "cleanup": "skipped"}
    assert states(engine, "group") == ["held"]
    go.touch()
    assert first.wait(timeout=60) == 0


def _kill_holder_engine(engine: Engine, holder: subprocess.Popen[str]) -> None:
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)


def test_a_group_held_by_a_killed_engine_is_released_by_recovery(
    engine: Engine, marker: str
) -> None:
    plan = engine.plan(
        [{"id": "deploy", "command": "sleep", "args": [marker]}], concurrency_group="deploy"
    )
    holder = engine.start("run", plan)
    wait_for(lambda: live_processes_with(marker), timeout=30)
    quick = engine.plan([{"id": "deploy", "command": "true"}], concurrency_group="deploy")
    waiter = engine.start("run", quick)
    wait_for(lambda: states(engine, "group") == ["held", "waiting"], timeout=30)
    _kill_holder_engine(engine, holder)
    # The waiting engine finds the holder gone, recovers its run and takes the group.
    assert waiter.wait(timeout=60) == 0
    runs = engine.runs()
    assert [run.status for run in runs] == ["succeeded", "crashed"]
    assert live_processes_with(marker) == []  # recovery killed the dead engine's step too
    groups = sorted((x for x in all_leases(engine) if x.kind == "group"), key=lambda x: x.id)
    assert [x.state for x in groups] == ["released", "released"]
    assert most_held_at_once(groups) == 1


def test_pool_slots_of_a_killed_engine_are_released_by_recovery(
    engine: Engine, marker: str
) -> None:
    plan = engine.plan(
        [{"id": "load", "command": "sleep", "args": [marker], "pool": "db"}], pools={"db": 1}
    )
    holder = engine.start("run", plan)
    wait_for(lambda: live_processes_with(marker), timeout=30)
    quick = engine.plan([{"id": "load", "command": "true", "pool": "db"}], pools={"db": 1})
    waiter = engine.start("run", quick)
    wait_for(lambda: states(engine, "pool") == ["held", "waiting"], timeout=30)
    _kill_holder_engine(engine, holder)
    assert waiter.wait(timeout=60) == 0
    assert [run.status for run in engine.runs()] == ["succeeded", "crashed"]
    pooled = [x for x in all_leases(engine) if x.kind == "pool"]
    assert most_held_at_once(pooled) == 1
    assert not psutil.pid_exists(holder.pid) or psutil.Process(holder.pid).status() == "zombie"


def test_leases_never_overlap_across_many_contending_engines(engine: Engine) -> None:
    plan = engine.plan(
        [{"id": f"s{i}", "command": "true", "pool": "db"} for i in range(4)],
        concurrency_group="serial", pools={"db": 1},
    )  # fmt: skip
    procs = [engine.start("run", plan) for _ in range(4)]
    assert [proc.wait(timeout=120) for proc in procs] == [0] * 4
    leases = all_leases(engine)
    for kind, group in itertools.groupby(sorted(leases, key=lambda x: x.kind), lambda x: x.kind):
        assert most_held_at_once(list(group)) == 1, kind


def test_a_step_canceled_while_it_waits_for_its_pool_stops_waiting(engine: Engine) -> None:
    go = engine.tmp_path / "go"
    steps = [
        {"id": "holder", **gate(go), "pool": "db"},
        {"id": "waiter", "command": "true", "pool": "db", "on_failure": "continue"},
    ]
    run = engine.start("run", engine.plan(steps, pools={"db": 1}))
    wait_for(lambda: states(engine, "pool") == ["held", "waiting"], timeout=30)
    run_id = engine.last_run().id
    assert engine.run("cancel", run_id, "--step", "waiter").returncode == 0
    # The wait ends (the attempt loop says the step may not start) while the holder still runs.
    wait_for(lambda: engine.statuses(run_id)["waiter"] == "canceled", timeout=30)
    assert states(engine, "pool") == ["held"]
    assert engine.statuses(run_id)["holder"] == "running"
    go.touch()
    run.communicate(timeout=60)
    assert engine.attempts("waiter", run_id) == [] or all(
        a.started_at is None for a in engine.attempts("waiter", run_id)
    )
