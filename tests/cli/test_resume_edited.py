"""`engine resume RUN --plan EDITED`: steps reused by fingerprint, the rest re-run with a reason."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from engine.ledger.reader import LedgerReader
from engine.states import StepStatus
from tests.cli.cli_helpers import cli, engine, latest_run_id, write_plan


def _steps(fixed: bool = False) -> list[dict[str, Any]]:
    """fetch -> build (fails until fixed) -> pack; lint on its own; old only in the first plan."""
    return [
        {"id": "fetch", "command": "sh",
         "args": ["-c", 'echo "v=1" >> "$ENGINE_OUTPUT"; echo x >> fetched'], "provides": ["v"]},
        {"id": "build", "command": "sh", "args": ["-c", "exit 0" if fixed else "exit 3"],
         "depends_on": ["fetch"], "on_failure": "skip_dependents"},
        {"id": "pack", "command": "sh", "args": ["-c", 'echo "$V" > packed'],
         "env": {"V": "${steps.fetch.outputs.v}"}, "depends_on": ["build"]},
        {"id": "lint", "command": "sh", "args": ["-c", "echo x >> linted"]},
    ]  # fmt: skip


def _run(ledger: Path, tmp_path: Path, *args: str, code: int = 0) -> str:
    result = engine(ledger, *args, "-q", cwd=tmp_path)
    assert result.code == code, result.err
    run_id = latest_run_id(ledger)
    assert run_id is not None
    return run_id


def _why(ledger: Path, run_id: str) -> dict[str, tuple[StepStatus, str | None]]:
    """Each step's final status, and the reason its step_reused / step_rerun event gave."""
    with LedgerReader.open(ledger) as reader:
        events = reader.events(run_id=run_id, types=["step_reused", "step_rerun"])
        reasons = {e.step_id: (e.data or {}).get("reason") for e in events}
        return {s.step_id: (s.status, reasons.get(s.step_id)) for s in reader.run_steps(run_id)}


def _edit(path: Path, change: Any) -> Path:
    document = json.loads(path.read_text())
    change(document)
    edited = path.with_name("edited.json")
    edited.write_text(json.dumps(document))
    return edited


def test_fixing_the_failed_step_reuses_the_rest(ledger: Path, tmp_path: Path) -> None:
    plan = write_plan(tmp_path, "pipe", [*_steps(), {"id": "old", "command": "true"}])
    first = _run(ledger, tmp_path, "run", str(plan), code=1)
    edited = _edit(
        plan, lambda d: d.update(steps=[*_steps(fixed=True), {"id": "docs", "command": "true"}])
    )
    result = engine(ledger, "resume", first, "--plan", str(edited), cwd=tmp_path)
    assert result.code == 0, result.err
    assert "reusing 2 steps, re-running 3, dropping 1 no longer in the plan" in result.err
    second = latest_run_id(ledger)
    assert second is not None and second != first
    assert _why(ledger, second) == {
        "fetch": (StepStatus.REUSED, f"reused from run {first}"),
        "build": (StepStatus.SUCCEEDED, "definition changed: args"),
        "pack": (
            StepStatus.SUCCEEDED, f'skipped before, in run {first}: dependency "build" failed'
        ),
        "lint": (StepStatus.REUSED, f"reused from run {first}"),
        "docs": (StepStatus.SUCCEEDED, "new step"),
    }  # fmt: skip
    assert (tmp_path / "fetched").read_text() == "x\n"  # fetch ran once, in the first run
    assert (tmp_path / "packed").read_text() == "1\n"  # its reused output fed pack
    story = cli(ledger, "explain", second, "build").out
    assert "runs again: definition changed: args" in story
    dropped = cli(ledger, "explain", second, "old")
    assert dropped.code == 2
    assert dropped.err == (
        f"engine: Run {second} has no step 'old' (run {first}, which it resumes, had it: "
        "the edited plan dropped it).\n"
    )
    with LedgerReader.open(ledger) as reader:
        run = reader.get_run(second)
        assert run is not None and run.summary.resumed_from == first
        assert json.loads(run.plan_json)["steps"][-1]["id"] == "docs"  # the edited plan is stored


def test_an_edited_step_reruns_with_everything_downstream(ledger: Path, tmp_path: Path) -> None:
    plan = write_plan(tmp_path, "pipe", _steps(fixed=True))
    first = _run(ledger, tmp_path, "run", str(plan))

    def louder_fetch(document: dict[str, Any]) -> None:
        document["steps"][0]["args"][1] = document["steps"][0]["args"][1].replace("v=1", "v=2")

    second = _run(ledger, tmp_path, "resume", first, "--plan", str(_edit(plan, louder_fetch)))
    assert _why(ledger, second) == {
        "fetch": (StepStatus.SUCCEEDED, "definition changed: args"),
        "build": (StepStatus.SUCCEEDED, "upstream re-ran: fetch"),
        "pack": (StepStatus.SUCCEEDED, "upstream re-ran: build"),
        "lint": (StepStatus.REUSED, f"reused from run {first}"),
    }
    assert (tmp_path / "packed").read_text() == "2\n"

    def new_env(document: dict[str, Any]) -> None:
        document["steps"][3]["env"] = {"LEVEL": "strict"}

    third = _run(ledger, tmp_path, "resume", second, "--plan", str(_edit(plan, new_env)))
    # The plan is the first one again with lint's env added: fetch differs from the second run's.
    assert _why(ledger, third)["lint"] == (StepStatus.SUCCEEDED, "definition changed: env")
    assert _why(ledger, third)["fetch"] == (StepStatus.SUCCEEDED, "definition changed: args")


def test_unchanged_resume_reuses_everything_and_keeps_fingerprints(
    ledger: Path, tmp_path: Path
) -> None:
    plan = write_plan(tmp_path, "pipe", _steps(fixed=True))
    first = _run(ledger, tmp_path, "run", str(plan))
    second = _run(ledger, tmp_path, "resume", first, "--plan", str(plan))
    assert {status for status, _ in _why(ledger, second).values()} == {StepStatus.REUSED}
    third = _run(ledger, tmp_path, "resume", second, "--plan", str(plan), "--step", "lint")
    assert _why(ledger, third)["lint"] == (StepStatus.SUCCEEDED, "selected with --step")
    with sqlite3.connect(ledger) as conn:
        rows = conn.execute(
            "SELECT run_id, step_id, fingerprint, source_run FROM run_steps ORDER BY step_id"
        ).fetchall()
    prints = {(run, step): (fingerprint, source) for run, step, fingerprint, source in rows}
    for step in ("fetch", "build", "pack", "lint"):
        assert prints[(first, step)][0] is not None
        assert prints[(first, step)][0] == prints[(second, step)][0] == prints[(third, step)][0]
        assert prints[(second, step)][1] == first  # where a reused step came from
    assert prints[(third, "lint")][1] is None  # it ran


def test_a_changed_variable_reruns_the_steps_that_use_it(ledger: Path, tmp_path: Path) -> None:
    steps = [
        {"id": "greet", "command": "sh", "args": ["-c", "echo ${WHO} >> greeted"]},
        {"id": "other", "command": "true"},
    ]
    plan = write_plan(tmp_path, "vars", steps, vars={"WHO": "world"})
    first = _run(ledger, tmp_path, "run", str(plan), "--var", "WHO=moon")
    # The edited plan is resumed with the value given to the first run, not the new default.
    edited = _edit(plan, lambda d: d["vars"].update(WHO="sun"))
    second = _run(ledger, tmp_path, "resume", first, "--plan", str(edited))
    assert {s for s, _ in _why(ledger, second).values()} == {StepStatus.REUSED}
    third = _run(ledger, tmp_path, "resume", second, "--plan", str(edited), "--var", "WHO=mars")
    assert _why(ledger, third) == {
        "greet": (StepStatus.SUCCEEDED, "definition changed: args, vars"),
        "other": (StepStatus.REUSED, f"reused from run {second}"),
    }
    assert (tmp_path / "greeted").read_text() == "moon\nmars\n"


def test_a_run_recorded_without_fingerprints_is_compared_by_its_stored_plan(
    ledger: Path, tmp_path: Path
) -> None:
    plan = write_plan(tmp_path, "pipe", _steps(fixed=True))
    first = _run(ledger, tmp_path, "run", str(plan))
    with sqlite3.connect(ledger) as conn:  # as a run recorded before schema 2 has them
        conn.execute("UPDATE run_steps SET fingerprint = NULL, fingerprint_parts = NULL")
    edited = _edit(plan, lambda d: d["steps"][3]["args"].append("extra"))
    second = _run(ledger, tmp_path, "resume", first, "--plan", str(edited))
    assert _why(ledger, second) == {
        "fetch": (StepStatus.REUSED, f"reused from run {first}"),
        "build": (StepStatus.REUSED, f"reused from run {first}"),
        "pack": (StepStatus.REUSED, f"reused from run {first}"),
        "lint": (StepStatus.SUCCEEDED, "definition changed: args"),
    }


def test_bad_edited_plans_are_usage_errors(ledger: Path, tmp_path: Path) -> None:
    plan = write_plan(tmp_path, "pipe", _steps(fixed=True))
    first = _run(ledger, tmp_path, "run", str(plan))
    missing = cli(ledger, "resume", first, "--plan", str(tmp_path / "nope.json"))
    assert missing.code == 2 and "Traceback" not in missing.err
    assert len(missing.err.strip().splitlines()) == 1, missing.err
    broken = _edit(plan, lambda d: d["steps"][1].update(depends_on=["ghost"]))
    invalid = cli(ledger, "resume", first, "--plan", str(broken))
    assert invalid.code == 2 and "ghost" in invalid.err and "Traceback" not in invalid.err
    unknown = cli(ledger, "resume", first, "--plan", str(plan), "--step", "ghost")
    assert unknown.code == 2 and "ghost" in unknown.err
    with LedgerReader.open(ledger) as reader:
        assert len(reader.list_runs(limit=10)) == 1  # nothing was started


def test_the_edited_plan_may_be_yaml(ledger: Path, tmp_path: Path) -> None:
    import yaml

    plan = write_plan(tmp_path, "pipe", _steps())
    first = _run(ledger, tmp_path, "run", str(plan), code=1)
    edited = tmp_path / "edited.yaml"
    document = {**json.loads(plan.read_text()), "steps": _steps(fixed=True)}
    edited.write_text(yaml.safe_dump(document, sort_keys=False))
    result = engine(ledger, "resume", first, "--plan", str(edited), cwd=tmp_path)
    assert result.code == 0, result.err
    why = _why(ledger, latest_run_id(ledger) or "")
    assert why["fetch"][0] == StepStatus.REUSED
    assert why["build"] == (StepStatus.SUCCEEDED, "definition changed: args")


def test_the_resume_note_says_one_step_in_the_singular(ledger: Path, tmp_path: Path) -> None:
    plan = write_plan(tmp_path, "pipe", _steps(fixed=True))
    first = _run(ledger, tmp_path, "run", str(plan))
    edited = _edit(
        plan, lambda d: d["steps"][0]["args"].__setitem__(1, "echo v=2 >> $ENGINE_OUTPUT")
    )
    result = engine(ledger, "resume", first, "--plan", str(edited), "-q", cwd=tmp_path)
    assert result.code == 0, result.err
    assert f"resuming run {first}: reusing 1 step, re-running 3\n" in result.err
