"""The per-run scratch directory: private (0700, its parent too) and removable by run id."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from engine.errors import LedgerError
from engine.ledger.scratch import (
    create_run_scratch,
    remove_run_scratch,
    remove_stale_scratch,
    scratch_root,
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_scratch_is_private_even_under_a_lax_umask_or_a_lax_existing_parent(
    tmp_path: Path,
) -> None:
    ledger = tmp_path / ".ledger" / "framework.db"
    ledger.parent.mkdir()
    scratch_root(ledger).mkdir(mode=0o777)
    old = os.umask(0)
    try:
        os.chmod(scratch_root(ledger), 0o777)
        directory = create_run_scratch(ledger, "run1")
    finally:
        os.umask(old)
    assert directory == tmp_path / ".ledger" / "scratch" / "run1"
    assert _mode(directory) == 0o700 and _mode(directory.parent) == 0o700


def test_remove_one_run_or_every_run_that_is_over(tmp_path: Path) -> None:
    ledger = tmp_path / "framework.db"
    for run_id in ("done", "live", "gone"):
        (create_run_scratch(ledger, run_id) / "step.1").write_text("TOKEN=raw\n")
    assert remove_run_scratch(ledger, "gone") and not remove_run_scratch(ledger, "gone")
    assert remove_stale_scratch(ledger, lambda run_id: run_id == "live") == ["done"]
    assert [p.name for p in scratch_root(ledger).iterdir()] == ["live"]


def test_a_scratch_dir_that_cannot_be_made_is_one_ledger_error(tmp_path: Path) -> None:
    ledger = tmp_path / "framework.db"
    scratch_root(ledger).write_text("a file where the directory should be")
    with pytest.raises(LedgerError, match="Cannot create the run's scratch directory"):
        create_run_scratch(ledger, "run1")
