"""`force=` of `engine.run_plan`, `start_plan` and `Ledger.resume`: `engine run --force [STEP]`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import engine
from tests.api.conftest import plan


def _cached(tmp_path: Path) -> dict[str, Any]:
    """Two cached steps, one a matrix, each appending a line to its own file when it runs."""
    return plan(
        {"id": "build", "command": f"echo ran >> {tmp_path / 'build.count'}", "cache": True},
        {
            "id": "test",
            "matrix": {"py": ["3.11", "3.12"]},
            "command": f"echo ${{matrix.py}} >> {tmp_path / 'test.count'}",
            "cache": True,
        },
        name="forced",
    )


def _runs(tmp_path: Path, name: str) -> int:
    counter = tmp_path / f"{name}.count"
    return len(counter.read_text().splitlines()) if counter.exists() else 0


def test_force_runs_every_cached_step_or_the_named_ones(ledger: Path, tmp_path: Path) -> None:
    document = _cached(tmp_path)
    assert engine.run_plan(document, ledger=ledger).ok
    assert engine.run_plan(document, ledger=ledger).ok  # both taken from the cache
    assert (_runs(tmp_path, "build"), _runs(tmp_path, "test")) == (1, 2)

    assert engine.run_plan(document, ledger=ledger, force=True).ok
    assert (_runs(tmp_path, "build"), _runs(tmp_path, "test")) == (2, 4)
    assert engine.run_plan(document, ledger=ledger, force="build").ok
    assert (_runs(tmp_path, "build"), _runs(tmp_path, "test")) == (3, 4)
    # A matrix step's id forces all its expansions; one expansion's id only that one.
    assert engine.run_plan(document, ledger=ledger, force=["test"]).ok
    assert (_runs(tmp_path, "build"), _runs(tmp_path, "test")) == (3, 6)
    assert engine.run_plan(document, ledger=ledger, force=["test[py=3.12]"]).ok
    assert (_runs(tmp_path, "build"), _runs(tmp_path, "test")) == (3, 7)
    handle = engine.start_plan(document, ledger=ledger, force=True)
    assert handle.wait().ok
    assert (_runs(tmp_path, "build"), _runs(tmp_path, "test")) == (4, 9)


@pytest.mark.parametrize("force", ["ghost", ["build", "ghost"], [3], 3])
def test_force_naming_no_step_raises_before_any_run(
    ledger: Path, tmp_path: Path, force: Any
) -> None:
    with pytest.raises(engine.EngineError, match="force: ") as raised:
        engine.run_plan(_cached(tmp_path), ledger=ledger, force=force)
    assert raised.value.exit_code == 2
    assert not ledger.exists() or not engine.Ledger(ledger).runs()
    assert _runs(tmp_path, "build") == 0


def test_resume_with_force_runs_a_cached_step_again(ledger: Path, tmp_path: Path) -> None:
    first = engine.run_plan(_cached(tmp_path), ledger=ledger)
    assert first.ok
    with engine.Ledger(ledger) as book:
        assert book.resume(first.run_id, steps=["build"]).ok  # taken from the cache
        assert _runs(tmp_path, "build") == 1
        assert book.resume(first.run_id, steps=["build"], force="build").ok
        assert _runs(tmp_path, "build") == 2
        with pytest.raises(engine.EngineError, match="no step 'ghost'"):
            book.resume(first.run_id, force=["ghost"])
