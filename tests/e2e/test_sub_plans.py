"""Sub-plans end to end: a plan step runs its plan as a child `engine run` on the same ledger."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

from engine.ledger.control import request_cancel
from tests.e2e.conftest import Engine
from tests.support import live_processes_with, wait_for

CHILD: dict[str, Any] = {
    "name": "child",
    "vars": {"WHO": None},
    "steps": [
        {
            "id": "greet",
            "command": "sh",
            "args": ["-c", 'echo "msg=hello $0" >> "$ENGINE_OUTPUT"; test "$0" != fail', "${WHO}"],
            "provides": ["msg"],
        }
    ],
    "outputs": {"message": "${steps.greet.outputs.msg}"},
}


def write(engine: Engine, name: str, document: dict[str, Any]) -> Path:
    path = engine.tmp_path / name
    path.write_text(json.dumps(document))
    return path


def children(engine: Engine, run_id: str) -> list[tuple[str, str, str]]:
    with engine.reader() as reader:
        links = reader.run_links(run_id)
    return [(c.step_id, c.run_id, str(c.status)) for c in links.children]


def test_the_step_succeeds_with_its_child_and_provides_the_child_plans_outputs(
    engine: Engine,
) -> None:
    write(engine, "child.json", CHILD)
    result = engine.run_plan(
        [
            {"id": "sub", "plan": "child.json", "vars": {"WHO": "${NAME}"}},
            {
                "id": "use",
                "command": "sh",
                "args": ["-c", 'test "$0" = "hello world"', "${steps.sub.outputs.message}"],
                "depends_on": ["sub"],
            },
        ],
        "--var", "NAME=world",
        name="parent", vars={"NAME": None},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    parent, child = sorted(engine.runs(), key=lambda run: run.plan_name != "parent")
    assert (parent.plan_name, child.plan_name) == ("parent", "child")
    assert engine.statuses(parent.id) == {"sub": "succeeded", "use": "succeeded"}
    assert children(engine, parent.id) == [("sub", child.id, "succeeded")]
    with engine.reader() as reader:
        links = reader.run_links(child.id)
        run = reader.get_run(child.id)
        outputs = {(o.step_id, o.name): o.value for o in reader.outputs(parent.id)}
    assert (links.parent_run_id, links.parent_step_id) == (parent.id, "sub")
    assert run is not None and run.vars == {"WHO": "world"}
    assert outputs[("sub", "message")] == "hello world"
    show = engine.run("show", parent.id)
    assert f"sub    {child.id}   succeeded" in show.stdout
    assert f"parent    {parent.id}  step sub" in engine.run("show", child.id).stdout


def test_the_step_fails_with_its_child(engine: Engine) -> None:
    write(engine, "child.json", CHILD)
    result = engine.run_plan(
        [
            {"id": "sub", "plan": "child.json", "vars": {"WHO": "fail"}},
            {"id": "after", "command": "true", "depends_on": ["sub"]},
        ],
        name="parent",
    )
    assert result.returncode == 1
    parent = next(run for run in engine.runs() if run.plan_name == "parent")
    assert engine.statuses(parent.id) == {"sub": "failed", "after": "skipped"}
    ((_, child_id, status),) = children(engine, parent.id)
    assert status == "failed"
    assert engine.statuses(child_id) == {"greet": "failed"}


def assert_stopped(engine: Engine, child_id: str) -> None:
    """The child run ended, its step stopped. The SIGTERM that stops the child engine also reaches
    its steps (the engine signals a step's whole process tree), so which the child records first,
    its own cancel or its step's death by that signal, is a race: canceled or failed."""
    with engine.reader() as reader:
        run = reader.get_run(child_id)
    assert run is not None and str(run.status) in ("canceled", "failed")
    assert engine.statuses(child_id)["wait"] in ("canceled", "failed")


def _waiting_child(engine: Engine, marker: str) -> Path:
    return write(
        engine,
        "child.json",
        {
            "name": "child",
            "globals": {"kill_grace_sec": 5},
            "steps": [{"id": "wait", "command": "sleep", "args": [marker]}],
        },
    )


def test_canceling_the_parent_run_cancels_the_child_run(engine: Engine, marker: str) -> None:
    _waiting_child(engine, marker)
    # The child stops its own step within its grace: the parent's must be longer, on a busy machine.
    path = engine.plan(
        [{"id": "sub", "plan": "child.json"}], name="parent", globals={"kill_grace_sec": 60}
    )
    proc = engine.start("run", path)
    wait_for(lambda: live_processes_with(marker), timeout=30)
    parent = next(run for run in engine.runs() if run.plan_name == "parent")
    request_cancel(engine.ledger_path, parent.id, requested_by="test")
    proc.communicate(timeout=60)
    assert proc.returncode == 1
    child = next(run for run in engine.runs() if run.plan_name == "child")
    assert_stopped(engine, child.id)
    assert engine.statuses(parent.id) == {"sub": "canceled"}
    assert live_processes_with(marker) == []


def test_a_plan_steps_timeout_cancels_the_child_run(engine: Engine, marker: str) -> None:
    _waiting_child(engine, marker)
    result = engine.run_plan(
        [{"id": "sub", "plan": "child.json", "timeout_sec": 10}],
        name="parent",
        globals={"kill_grace_sec": 60},
    )
    assert result.returncode == 1
    parent = next(run for run in engine.runs() if run.plan_name == "parent")
    child = next(run for run in engine.runs() if run.plan_name == "child")
    assert [a.error_code for a in engine.attempts("sub", parent.id)] == ["timeout"]
    assert_stopped(engine, child.id)
    assert live_processes_with(marker) == []


def test_sigint_to_the_parent_engine_cancels_the_child_run(engine: Engine, marker: str) -> None:
    _waiting_child(engine, marker)
    # The child stops its own step within its grace: the parent's must be longer, on a busy machine.
    path = engine.plan(
        [{"id": "sub", "plan": "child.json"}], name="parent", globals={"kill_grace_sec": 60}
    )
    proc = engine.start("run", path)
    wait_for(lambda: live_processes_with(marker), timeout=30)
    proc.send_signal(signal.SIGINT)
    started = time.monotonic()
    proc.communicate(timeout=60)
    assert time.monotonic() - started < 30
    assert proc.returncode == 130
    child = next(run for run in engine.runs() if run.plan_name == "child")
    assert_stopped(engine, child.id)
    assert live_processes_with(marker) == []


def test_resume_reuses_a_succeeded_child(engine: Engine, tmp_path: Path) -> None:
    write(engine, "child.json", CHILD)
    flag = tmp_path / "second-time"
    path = engine.plan(
        [
            {"id": "sub", "plan": "child.json", "vars": {"WHO": "you"}},
            {
                "id": "flaky",
                "command": "sh",
                "args": ["-c", f'test -e {flag} && test "$0" = "hello you"',
                         "${steps.sub.outputs.message}"],
                "depends_on": ["sub"],
            },
        ],
        name="parent",
    )  # fmt: skip
    assert engine.run("run", path).returncode == 1
    first = next(run for run in engine.runs() if run.plan_name == "parent")
    flag.touch()
    result = engine.run("resume", first.id)
    assert result.returncode == 0, result.stdout + result.stderr
    second = engine.last_run()
    assert second.plan_name == "parent" and second.id != first.id
    assert engine.statuses(second.id) == {"sub": "reused", "flaky": "succeeded"}
    assert children(engine, second.id) == []  # no second child run
    assert [run.plan_name for run in engine.runs()].count("child") == 1


def test_resume_runs_a_plan_step_again_when_its_child_plan_was_edited(
    engine: Engine, tmp_path: Path
) -> None:
    write(engine, "child.json", CHILD)
    flag = tmp_path / "second-time"
    path = engine.plan(
        [
            {"id": "sub", "plan": "child.json", "vars": {"WHO": "you"}},
            {
                "id": "flaky",
                "command": "sh",
                "args": ["-c", f'test -e {flag} && test "$0" = "bye you"',
                         "${steps.sub.outputs.message}"],
                "depends_on": ["sub"],
            },
        ],
        name="parent",
    )  # fmt: skip
    assert engine.run("run", path).returncode == 1
    first = next(run for run in engine.runs() if run.plan_name == "parent")
    edited = json.loads(json.dumps(CHILD))
    edited["steps"][0]["args"][1] = edited["steps"][0]["args"][1].replace("hello", "bye")
    write(engine, "child.json", edited)
    flag.touch()
    result = engine.run("resume", first.id)
    assert result.returncode == 0, result.stdout + result.stderr
    (second,) = [run for run in engine.runs() if run.plan_name == "parent" and run.id != first.id]
    assert engine.statuses(second.id) == {"sub": "succeeded", "flaky": "succeeded"}
    assert [run.plan_name for run in engine.runs()].count("child") == 2


def test_a_cycle_between_plan_files_is_a_validation_error(engine: Engine) -> None:
    write(engine, "a.json", {"name": "a", "steps": [{"id": "to_b", "plan": "b.json"}]})
    write(engine, "b.json", {"name": "b", "steps": [{"id": "to_a", "plan": "a.json"}]})
    result = engine.run("validate", "a.json")
    assert result.returncode == 2
    assert "sub-plan cycle: a.json -> b.json -> a.json" in result.stderr + result.stdout
    assert engine.runs() == []


def _waiting(engine: Engine, plan_name: str) -> bool:
    with engine.reader() as reader:
        runs = [run for run in reader.list_runs(limit=20) if run.plan_name == plan_name]
        return bool(runs) and any(lease.state == "waiting" for lease in reader.leases(runs[0].id))


def test_a_child_takes_the_group_and_pool_its_parent_holds_ahead_of_other_waiters(
    engine: Engine,
) -> None:
    # The parent holds group "g" and a slot of pool "db" (size 1) for its whole run; its child
    # asks for both. Waiting for its own parent would wait for ever, even behind another run.
    go = engine.tmp_path / "go"
    shared: dict[str, Any] = {"concurrency_group": "g", "pools": {"db": 1}}
    write(engine, "kid.json", {
        "name": "kid", **shared, "steps": [{"id": "k", "command": "true", "pool": "db"}],
    })  # fmt: skip
    wait_go = ["-c", f'while [ ! -e "{go}" ]; do sleep 0.02; done']
    parent = write(engine, "dad.json", {
        "name": "dad", **shared, "globals": {"timeout_sec": 60},
        "steps": [
            {"id": "first", "command": "sh", "args": wait_go},
            {"id": "call", "plan": "kid.json", "pool": "db", "depends_on": ["first"]},
        ],
    })  # fmt: skip
    other = write(engine, "other.json", {
        "name": "other", **shared, "steps": [{"id": "o", "command": "true", "pool": "db"}],
    })  # fmt: skip
    dad = engine.start("run", parent)
    wait_for(
        lambda: (runs := engine.runs()) and engine.statuses(runs[0].id).get("first") == "running",
        timeout=30,
    )
    waiter = engine.start("run", other)
    wait_for(lambda: _waiting(engine, "other"), timeout=30)
    go.touch()
    assert dad.wait(timeout=90) == 0, dad.communicate()
    assert waiter.wait(timeout=90) == 0, waiter.communicate()
    ends = {run.plan_name: str(run.status) for run in engine.runs()}
    assert ends == {"dad": "succeeded", "kid": "succeeded", "other": "succeeded"}


def test_cancel_in_progress_in_a_child_does_not_cancel_its_parent(engine: Engine) -> None:
    write(engine, "kid.json", {
        "name": "kid", "concurrency_group": "g", "cancel_in_progress": True,
        "steps": [{"id": "k", "command": "true"}],
    })  # fmt: skip
    result = engine.run_plan(
        [{"id": "call", "plan": "kid.json"}], name="dad", concurrency_group="g",
        globals={"timeout_sec": 60},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert {run.plan_name: str(run.status) for run in engine.runs()} == {
        "dad": "succeeded", "kid": "succeeded",
    }  # fmt: skip
    with engine.reader() as reader:
        assert not reader.events(types=["cancel_requested"])
