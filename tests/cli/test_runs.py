"""`engine runs`: filters, limits, JSON shape, and run-id prefixes everywhere."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.cli.cli_helpers import FAILED, LIVE, OLD_CANCELED, OLD_SUCCEEDED, SUCCEEDED, cli

NEWEST_FIRST = [LIVE, FAILED, SUCCEEDED, OLD_CANCELED, OLD_SUCCEEDED]


def _ids(history: Path, *args: str) -> list[str]:
    result = cli(history, "runs", "--json", *args)
    assert result.code == 0, result.err
    return [run["id"] for run in result.json()]


def test_runs_lists_newest_first_as_a_table(history: Path) -> None:
    result = cli(history, "runs")
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0].split()[:4] == ["RUN", "PLAN", "STATUS", "STEPS"]
    assert [line.split()[0] for line in lines[2:]] == NEWEST_FIRST
    assert "failed" in lines[3] and "3/3" in lines[3] and 'step "test" failed' in lines[3]
    assert result.err == ""


def test_runs_filters(history: Path) -> None:
    assert _ids(history) == NEWEST_FIRST
    assert _ids(history, "--status", "failed") == [FAILED]
    assert _ids(history, "--plan", "nightly") == [LIVE, OLD_SUCCEEDED]
    assert _ids(history, "--since", "24h") == [LIVE, FAILED, SUCCEEDED]
    assert _ids(history, "--since", "24h", "--plan", "release", "--limit", "1") == [FAILED]


def test_runs_json_shape(history: Path) -> None:
    run = cli(history, "runs", "--json", "--status", "failed").json()[0]
    assert set(run) >= {"id", "plan_name", "status", "created_at", "started_at", "finished_at",
                        "duration_ms", "steps_total", "steps_done", "steps_failed",
                        "running_step_ids", "resumed_from", "error", "exit_code"}  # fmt: skip
    assert run["status"] == "failed" and run["exit_code"] == 1
    assert run["created_at"].endswith("Z") and "T" in run["created_at"]
    assert run["steps_failed"] == 1 and run["steps_done"] == 3


def test_bad_arguments_exit_2(history: Path) -> None:
    assert cli(history, "runs", "--since", "yesterday-ish").code == 2
    assert cli(history, "runs", "--status", "weird").code == 2


def test_unique_prefix_works_everywhere(history: Path) -> None:
    assert cli(history, "show", "1fa", "--json").json()["run"]["id"] == FAILED
    assert cli(history, "events", "1FA").code == 0  # case and look-alikes are forgiven
    assert cli(history, "explain", "1fai", "test").code == 0
    assert cli(history, "logs", "1f", "build").code == 0


def test_ambiguous_and_unknown_prefixes_exit_2(history: Path) -> None:
    ambiguous = cli(history, "show", "1")
    assert ambiguous.code == 2 and "ambiguous" in ambiguous.err
    assert ambiguous.err.count("\n") == 1  # one sentence, no traceback
    unknown = cli(history, "show", "zz")
    assert unknown.code == 2 and "No run id starts with 'zz'" in unknown.err


def test_missing_ledger_is_one_sentence_exit_3(tmp_path: Path) -> None:
    result = cli(tmp_path / "nothing" / "framework.db", "runs")
    assert result.code == 3 and "no ledger" in result.err and "Traceback" not in result.err


def test_run_ids_never_wrap_on_an_80_column_terminal(history: Path) -> None:
    import os
    import subprocess

    from tests.cli.cli_helpers import ENGINE

    # FORCE_COLOR makes rich treat the pipe as a terminal COLUMNS wide, as `engine runs` in a
    # real 80-column terminal; the header's bold codes are taken out before measuring.
    env = dict(os.environ, LEDGER_DB=str(history), FORCE_COLOR="1", COLUMNS="80", NO_COLOR="1")
    styled = subprocess.run(
        [*ENGINE, "runs"], env=env, capture_output=True, text=True, timeout=60, check=True
    ).stdout
    out = re.sub(r"\x1b\[[0-9;]*m", "", styled)
    assert max(len(line) for line in out.splitlines()) <= 80
    assert all(run_id in out for run_id in NEWEST_FIRST), out


def test_arguments_that_are_not_utf8_match_nothing_instead_of_a_traceback(history: Path) -> None:
    # Python hands a non-UTF-8 argument (bytes such as 0xff) over with surrogate escapes.
    odd = "\udcff"
    assert cli(history, "runs", "--tag", odd).code == 0
    assert cli(history, "runs", "--plan", odd, "--json").json() == []
    shown = cli(history, "show", odd)
    assert shown.code == 2 and "No run id starts with" in shown.err
    for args in (("logs", FAILED, "{}"), ("events", FAILED, "--step", "{}")):
        # as for a step the run does not have
        expected = cli(history, *(arg.format("nosuch") for arg in args))
        result = cli(history, *(arg.format(odd) for arg in args))
        assert (result.code, result.out) == (expected.code, expected.out), result.err


def test_a_plan_file_whose_name_is_not_utf8_runs_and_is_recorded(ledger: Path) -> None:
    from tests.cli.cli_helpers import engine

    name = "plan-\udcff.json"  # the file name's byte 0xff, as Python hands it over
    (ledger.parent.parent / name).write_text(
        json.dumps({"name": "odd", "steps": [{"id": "a", "command": "true"}]})
    )
    result = engine(ledger, "run", name)
    assert result.code == 0, result.err
    (run,) = cli(ledger, "runs", "--json").json()
    shown = cli(ledger, "show", run["id"], "--json").json()["run"]
    assert shown["status"] == "succeeded" and shown["plan_path"].endswith("plan-\\xff.json")
