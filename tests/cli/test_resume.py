"""`engine resume RUN_ID [--step ID] [--downstream] [--var K=V]`: re-run only what needs it."""

from __future__ import annotations

from pathlib import Path

from engine.ledger.reader import LedgerReader
from engine.states import RunStatus, StepStatus
from tests.cli.cli_helpers import LIVE, cli, engine, latest_run_id, write_plan


def _pipeline(tmp_path: Path) -> Path:
    """make (provides a random sha) -> check (fails until `ok` exists) -> use (writes the sha)."""
    return write_plan(
        tmp_path,
        "pipeline",
        [
            {"id": "make", "command": 'echo "sha=$(date +%s%N)" >> "$ENGINE_OUTPUT"',
             "shell": True, "provides": ["sha"]},
            {"id": "check", "command": "test", "args": ["-f", "ok"], "depends_on": ["make"]},
            {"id": "use", "command": "sh", "args": ["-c", 'echo "$SHA" > used'],
             "env": {"SHA": "${steps.make.outputs.sha}"}, "depends_on": ["check"]},
        ],
    )  # fmt: skip


def _statuses(ledger: Path, run_id: str) -> dict[str, StepStatus]:
    with LedgerReader.open(ledger) as reader:
        return {s.step_id: s.status for s in reader.run_steps(run_id)}


def _resume(ledger: Path, tmp_path: Path, *args: str) -> str:
    result = engine(ledger, "resume", *args, "-q", cwd=tmp_path)
    assert result.code == 0, result.err
    run_id = latest_run_id(ledger)
    assert run_id is not None
    return run_id


def test_resume_reuses_succeeded_steps_and_their_outputs(ledger: Path, tmp_path: Path) -> None:
    plan = _pipeline(tmp_path)
    assert engine(ledger, "run", str(plan), "-q").code == 1
    first = latest_run_id(ledger)
    assert first is not None
    with LedgerReader.open(ledger) as reader:
        sha = reader.outputs(first)[0].value
    (tmp_path / "ok").touch()

    second = _resume(ledger, tmp_path, first[:9])
    assert _statuses(ledger, second) == {
        "make": StepStatus.REUSED, "check": StepStatus.SUCCEEDED, "use": StepStatus.SUCCEEDED,
    }  # fmt: skip
    assert (tmp_path / "used").read_text() == f"{sha}\n"
    with LedgerReader.open(ledger) as reader:
        run = reader.get_run(second)
        assert run is not None and run.summary.resumed_from == first
        assert run.status is RunStatus.SUCCEEDED
        why = {e.step_id: (e.type, (e.data or {}).get("reason")) for e in reader.events(
            run_id=second, types=["step_reused", "step_rerun"])}  # fmt: skip
    assert why == {
        "make": ("step_reused", f"reused from run {first}"),
        "check": ("step_rerun", f"failed before, in run {first}: exit code 1"),
        "use": ("step_rerun", f'skipped before, in run {first}: dependency "check" failed'),
    }
    story = cli(ledger, "explain", second, "check").out
    assert f"runs again: failed before, in run {first}: exit code 1" in story

    # A resume of the resume finds make's outputs in the run that produced them.
    (tmp_path / "used").unlink()
    third = _resume(ledger, tmp_path, second, "--step", "use")
    assert _statuses(ledger, third) == {
        "make": StepStatus.REUSED, "check": StepStatus.REUSED, "use": StepStatus.SUCCEEDED,
    }  # fmt: skip
    assert (tmp_path / "used").read_text() == f"{sha}\n"

    fourth = _resume(ledger, tmp_path, third, "--step", "make", "--downstream")
    assert set(_statuses(ledger, fourth).values()) == {StepStatus.SUCCEEDED}
    assert (tmp_path / "used").read_text() != f"{sha}\n"


def test_resume_with_a_var_override(ledger: Path, tmp_path: Path) -> None:
    plan = write_plan(
        tmp_path,
        "greet",
        [{"id": "first", "command": "true"},
         {"id": "say", "command": "sh", "args": ["-c", "echo ${WHO} > said"],
          "depends_on": ["first"]}],
        vars={"WHO": "world"},
    )  # fmt: skip
    assert engine(ledger, "run", str(plan), "-q").code == 0
    first = latest_run_id(ledger)
    assert first is not None
    second = _resume(ledger, tmp_path, first, "--step", "say", "--var", "WHO=moon")
    assert (tmp_path / "said").read_text() == "moon\n"
    assert _statuses(ledger, second)["first"] is StepStatus.REUSED
    with LedgerReader.open(ledger) as reader:
        run = reader.get_run(second)
    assert run is not None and run.vars == {"WHO": "moon"}


def test_resume_refuses_bad_requests(history: Path) -> None:
    unknown = cli(history, "resume", "1fail", "--step", "nope")
    assert unknown.code == 2 and "has no step 'nope'" in unknown.err
    alone = cli(history, "resume", "1fail", "--downstream")
    assert alone.code == 2 and "--downstream needs at least one --step" in alone.err
    live = cli(history, "resume", LIVE)
    assert live.code == 1 and "still running" in live.err
    assert cli(history, "resume", "zzz").code == 2


def test_resume_counts_the_steps_it_reuses_in_good_english(ledger: Path, tmp_path: Path) -> None:
    plan = write_plan(
        tmp_path,
        "pair",
        [{"id": "first", "command": "true"},
         {"id": "second", "command": "test", "args": ["-f", "ok"], "depends_on": ["first"]}],
    )  # fmt: skip
    assert engine(ledger, "run", str(plan), "-q").code == 1
    first = latest_run_id(ledger)
    assert first is not None
    (tmp_path / "ok").touch()
    result = engine(ledger, "resume", first, cwd=tmp_path)
    assert result.code == 0, result.err
    assert f"resuming run {first}: reusing 1 step, re-running 1" in result.err
