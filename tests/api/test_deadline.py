"""`deadline`: a run cut at an absolute time, refused when already past, warned when too close."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import engine
from engine.api.deadline import parse_deadline
from tests.api.conftest import plan

ENGINE = str(Path(sys.executable).with_name("engine"))


def _no_runs(ledger: Path) -> bool:
    return not ledger.exists() or engine.Ledger(ledger).runs() == []


def test_a_deadline_already_past_is_refused_before_any_run(ledger: Path) -> None:
    past = datetime.now(UTC) - timedelta(seconds=1)
    with pytest.raises(engine.EngineError, match="has already passed") as raised:
        engine.run_plan(plan({"id": "a", "command": "true"}), ledger=ledger, deadline=past)
    assert raised.value.code == "deadline_exceeded"
    assert _no_runs(ledger)


def test_a_naive_deadline_is_refused(ledger: Path) -> None:
    with pytest.raises(engine.EngineError, match="aware datetime"):
        engine.run_plan(plan({"id": "a", "command": "true"}), ledger=ledger,
                        deadline=datetime.now() + timedelta(hours=1))  # fmt: skip
    assert _no_runs(ledger)


def test_the_run_is_cut_at_its_deadline(ledger: Path) -> None:
    deadline = datetime.now(UTC) + timedelta(seconds=1.5)
    result = engine.run_plan(
        plan({"id": "wait", "command": "sleep 120"}), ledger=ledger, deadline=deadline
    )
    assert result.status == "failed"
    assert result.error is not None
    assert (result.error.code, result.error.severity, result.error.recoverable) == (
        "deadline_exceeded", "error", True,
    )  # fmt: skip
    assert "deadline" in result.error.message and "reached" in result.error.message
    assert result.steps["wait"].status == "canceled"
    assert result.finished_at is not None and result.finished_at >= deadline


def test_a_deadline_sooner_than_the_plans_timeout_warns_with_both_figures(ledger: Path) -> None:
    document = plan({"id": "a", "command": "true"}, globals={"timeout_sec": 3600})
    with pytest.warns(engine.DeadlineWarning, match=r"leaves \d+s.*timeout_sec \(3600s\)"):
        result = engine.run_plan(
            document, ledger=ledger, deadline=datetime.now(UTC) + timedelta(minutes=10)
        )
    assert result.status == "succeeded"


def test_a_deadline_sooner_than_the_history_warns(ledger: Path) -> None:
    document = plan({"id": "a", "command": "sleep 2"}, name="slowish")
    engine.run_plan(document, ledger=ledger)
    with pytest.warns(engine.DeadlineWarning, match="ledger's history"):
        result = engine.run_plan(
            document, ledger=ledger, deadline=datetime.now(UTC) + timedelta(seconds=1)
        )
    assert result.error is not None and result.error.code == "deadline_exceeded"


def test_parse_deadline_reads_relative_and_iso_times() -> None:
    now = datetime(2026, 12, 5, 6, 0, tzinfo=UTC).timestamp()
    assert parse_deadline("+45m", now) == datetime(2026, 12, 5, 6, 45, tzinfo=UTC)
    assert parse_deadline("+1h30m", now) == datetime(2026, 12, 5, 7, 30, tzinfo=UTC)
    assert parse_deadline("+90s", now) == datetime(2026, 12, 5, 6, 1, 30, tzinfo=UTC)
    assert parse_deadline("2026-12-05T06:00Z") == datetime(2026, 12, 5, 6, 0, tzinfo=UTC)
    assert parse_deadline("2026-12-05T06:00").tzinfo is not None  # local time
    for bad in ("soon", "+", "+5x", "45m"):
        with pytest.raises(engine.EngineError, match="--deadline"):
            parse_deadline(bad)


def _engine(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    plan_path = tmp_path / "wait.json"
    plan_path.write_text(json.dumps(plan({"id": "wait", "command": "sleep 120"})))
    ledger = tmp_path / "ledger" / "framework.db"
    return subprocess.run(
        [ENGINE, "run", str(plan_path), "--ledger", str(ledger), *args],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("given", "says"),
    [("2020-01-01T00:00Z", "has already passed"), ("tomorrow", "expected an ISO-8601 time")],
)
def test_engine_run_refuses_a_bad_deadline_in_one_line(
    ledger: Path, tmp_path: Path, given: str, says: str
) -> None:
    done = _engine(tmp_path, "--deadline", given)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and says in done.stderr
    assert _no_runs(ledger)


def test_engine_run_deadline_cuts_the_run(ledger: Path, tmp_path: Path) -> None:
    done = _engine(tmp_path, "--deadline", "+1s", "--json")
    assert done.returncode == 1, done.stderr
    last = json.loads(done.stdout.splitlines()[-1])
    assert last["type"] == "run_completed" and last["data"]["status"] == "failed"
    assert "deadline" in last["data"]["error"]
