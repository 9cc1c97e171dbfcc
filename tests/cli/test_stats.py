"""`engine stats [--since]`: totals, rates, percentiles, flaky and slow steps."""

from __future__ import annotations

from pathlib import Path

from tests.cli.cli_helpers import cli


def test_stats_table(history: Path) -> None:
    result = cli(history, "stats", "--since", "24h")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == "runs      3 (1 failed, 1 running, 1 succeeded)"
    assert lines[1] == "success   50% of finished runs"
    assert "flakiest steps" in result.out and "slowest steps" in result.out
    release = next(line for line in lines if line.startswith("release"))
    assert release.split()[1:3] == ["2", "50%"]


def test_stats_json_shape(history: Path) -> None:
    stats = cli(history, "stats", "--since", "7d", "--json").json()
    assert stats["runs_total"] == 3
    assert stats["runs_by_status"] == {"failed": 1, "running": 1, "succeeded": 1}
    assert stats["success_rate"] == 0.5
    assert stats["since"].endswith("Z") and stats["until"].endswith("Z")
    plans = {p["plan_name"]: p for p in stats["plans"]}
    assert plans["release"]["runs"] == 2 and plans["release"]["p50_ms"] == 6000
    flaky = stats["flakiest_steps"][0]
    assert (flaky["step_id"], flaky["failure_rate"], flaky["retry_rate"]) == ("test", 0.5, 0.5)
    assert [s["step_id"] for s in stats["slowest_steps"]][:2] == ["ship", "test"]
    assert len(stats["attempts_per_bucket"]) == 24


def test_stats_window_covers_old_runs(history: Path) -> None:
    assert cli(history, "stats", "--since", "60d", "--json").json()["runs_total"] == 5
    assert cli(history, "stats", "--since", "1m", "--json").json()["runs_total"] == 0
