"""Finding the ledger like git finds .git; run ids."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from engine.ledger.ids import ALPHABET, RUN_ID_LENGTH, new_run_id
from engine.ledger.location import (
    attempt_log_name,
    logs_dir,
    recorded_log_path,
    resolve_ledger_path,
    run_logs_dir,
)


@pytest.fixture(autouse=True)
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEDGER_DB", raising=False)


def test_explicit_beats_env_beats_search(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".ledger").mkdir()
    monkeypatch.setenv("LEDGER_DB", "env/l.db")
    assert resolve_ledger_path("x/y.db", create=True, cwd=tmp_path) == tmp_path / "x/y.db"
    assert (tmp_path / "x").is_dir()
    assert resolve_ledger_path(None, create=False, cwd=tmp_path) == tmp_path / "env/l.db"
    monkeypatch.delenv("LEDGER_DB")
    assert (
        resolve_ledger_path(None, create=False, cwd=tmp_path) == tmp_path / ".ledger/framework.db"
    )


def test_finds_the_nearest_ledger_upward(tmp_path: Path) -> None:
    (tmp_path / ".ledger").mkdir()
    (tmp_path / "a/.ledger").mkdir(parents=True)
    deep = tmp_path / "a/b/c"
    deep.mkdir(parents=True)
    assert resolve_ledger_path(None, create=True, cwd=deep) == tmp_path / "a/.ledger/framework.db"
    assert not (deep / ".ledger").exists()


def test_creates_a_ledger_dir_with_gitignore(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    assert resolve_ledger_path(None, create=False, cwd=work) == work / ".ledger/framework.db"
    assert not (work / ".ledger").exists()
    path = resolve_ledger_path(None, create=True, cwd=work)
    assert (work / ".ledger/.gitignore").read_text() == "*\n"
    assert logs_dir(path) == work / ".ledger/logs"


def test_run_ids_are_short_sortable_and_unique() -> None:
    ids = [new_run_id() for _ in range(5000)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    assert all(len(i) == RUN_ID_LENGTH == 13 and set(i) <= set(ALPHABET) for i in ids)
    assert new_run_id(time.time() - 3600) < ids[0] < new_run_id(time.time() + 3600)


def test_a_log_path_is_named_and_resolved_by_one_rule(tmp_path: Path) -> None:
    """What `engine run` records is what `engine logs` and the dashboard open."""
    ledger = tmp_path / ".ledger" / "framework.db"
    written = str(run_logs_dir(ledger, "r1") / attempt_log_name("build", 2))
    assert written == str(tmp_path / ".ledger" / "logs" / "r1" / "build.2.log")
    assert recorded_log_path(written, ledger) == written
    assert recorded_log_path(".ledger/logs/r1/build.2.log", ledger) == written  # older, relative
    assert recorded_log_path(None, ledger) is None
