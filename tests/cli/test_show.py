"""`engine show RUN_ID`: a run with its steps, attempts and outputs."""

from __future__ import annotations

from pathlib import Path

from tests.cli.cli_helpers import FAILED, SUCCEEDED, cli, engine, latest_run_id, write_plan


def test_show_prints_the_run_and_its_steps(history: Path) -> None:
    result = cli(history, "show", FAILED)
    assert result.code == 0, result.err
    assert f"run       {FAILED}  (failed)" in result.out
    assert 'error     step "test" failed' in result.out
    rows = {line.split()[0]: line.split() for line in result.out.splitlines() if line[:1].isalpha()}
    assert rows["build"][1:4] == ["succeeded", "1", "1.5s"]
    assert rows["test"][1:3] == ["failed", "2"]
    assert rows["ship"][1] == "skipped"


def test_show_lists_outputs(history: Path) -> None:
    out = cli(history, "show", SUCCEEDED).out
    assert "OUTPUT" in out and "abc123" in out


def test_show_json_shape(history: Path) -> None:
    document = cli(history, "show", SUCCEEDED, "--json").json()
    assert set(document) == {"run", "steps", "attempts", "outputs", "leases", "children"}
    assert document["children"] == []
    assert (document["run"]["parent_run_id"], document["run"]["parent_step_id"]) == (None, None)
    run = document["run"]
    assert run["id"] == SUCCEEDED and run["status"] == "succeeded"
    assert run["plan"]["name"] == "release" and run["vars"] == {"BRANCH": "main"}
    assert run["owner"]["host"] == "elsewhere"
    assert [s["step_id"] for s in document["steps"]] == ["build", "test", "ship"]
    assert {"attempt", "status", "exit_code", "started_at", "log_path", "output_tail"} <= set(
        document["attempts"][0]
    )
    assert document["outputs"] == [
        {"run_id": SUCCEEDED, "step_id": "build", "attempt": 1, "name": "sha", "value": "abc123"}
    ]


def test_show_unknown_run_exits_2(history: Path) -> None:
    assert cli(history, "show", "nope").code == 2


def test_show_groups_matrix_expansions_under_their_step(tmp_path: Path) -> None:
    ledger = tmp_path / ".ledger" / "framework.db"
    plan = write_plan(
        tmp_path,
        "matrix.json",
        [
            {"id": "first", "command": "true"},
            {
                "id": "t",
                "command": "sh",
                "args": ["-c", 'test "${matrix.n}" != 2'],
                "on_failure": "continue",
                "matrix": {"n": [1, 2, 3]},
                "depends_on": ["first"],
            },
        ],
    )
    assert engine(ledger, "run", str(plan)).code == 1
    run_id = latest_run_id(ledger)
    assert run_id is not None
    result = cli(ledger, "show", run_id)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("STEP"))
    rows = [line.split() for line in lines[header + 2 :] if line.strip()]
    assert rows[0][0] == "first"
    assert rows[1] == ["t", "(matrix", "of", "3)", "failed", "2", "succeeded,", "1", "failed"]
    assert [row[:2] for row in rows[2:5]] == [
        ["[n=1]", "succeeded"], ["[n=2]", "failed"], ["[n=3]", "succeeded"],
    ]  # fmt: skip
