"""`engine gc --older-than 30d`: delete old finished runs with their events, outputs and logs."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import click

from engine.cli.options import json_option, ledger_option
from engine.cli.output import open_ledger, parse_duration, print_json
from engine.ledger.location import logs_dir
from engine.ledger.maintenance import delete_runs_before
from engine.ledger.reader import LedgerReader
from engine.ledger.scratch import remove_legacy_scratch, remove_stale_scratch, scratch_root
from engine.states import ExitCode

SLICE_RUNS = 20
PAUSE_SEC = 0.01
SCRATCH_GRACE_SEC = 60.0


@click.command("gc")
@click.option("--older-than", "older_than", required=True, metavar="AGE", help="e.g. 30d, 12h, 2w.")
@ledger_option
@json_option
def command(older_than: str, ledger: str | None, as_json: bool) -> int:
    """Delete finished runs created more than AGE ago; running runs are always kept.

    Also removes the scratch dirs (step outputs, secrets included) of every run that is over.

    Deletes in small transactions, so an engine writing to the same ledger never waits long.
    """
    cutoff = time.time() - parse_duration(older_than)
    with open_ledger(ledger) as reader:
        # Where $ENGINE_OUTPUT used to live, raw secrets included; while the runs are still known.
        legacy = remove_legacy_scratch(Path(tempfile.gettempdir()), lambda i: _is_over(reader, i))
        deleted = _delete_in_slices(reader, cutoff)
        removed = _remove_logs(reader, deleted, cutoff)
        scratch = remove_stale_scratch(reader.path, lambda i: _is_live(reader, i))
        scratch_count = len(scratch) + len(legacy)
    if as_json:
        print_json(
            {
                "deleted_runs": len(deleted),
                "removed_log_dirs": removed,
                "removed_scratch_dirs": scratch_count,
                "run_ids": deleted,
            }
        )
    else:
        click.echo(f"deleted {len(deleted)} runs older than {older_than} and {removed} log dirs")
        if scratch_count:
            click.echo(f"removed the scratch dirs of {scratch_count} runs that are over")
    return int(ExitCode.OK)


def _delete_in_slices(reader: LedgerReader, cutoff: float) -> list[str]:
    """Delete the finished runs created before `cutoff`, oldest first, SLICE_RUNS at a time.

    Back-to-back write transactions starve a concurrent engine (SQLite's busy handler sleeps
    with backoff, and finds the lock taken again when it wakes), so each slice is followed by a
    pause in which the engine's commits get through.
    """
    deleted: list[str] = []
    while True:
        oldest = reader.finished_runs_before(cutoff, limit=SLICE_RUNS)
        if not oldest:
            return deleted
        # Up to and including the slice's newest run: ledger times have millisecond resolution.
        edge = min(cutoff, oldest[-1].created_at + 0.001)
        deleted.extend(delete_runs_before(reader.path, before=edge))
        time.sleep(PAUSE_SEC)


def _is_over(reader: LedgerReader, run_id: str) -> bool:
    detail = reader.get_run(run_id)
    return detail is not None and detail.summary.status.is_final


def _is_live(reader: LedgerReader, run_id: str) -> bool:
    """Whether a scratch dir may be in use: its run is active, or it is too new to be in the ledger.

    An engine creates the scratch dir a moment before its run row is committed; a dir older than
    SCRATCH_GRACE_SEC without a row was left by an engine that died before that commit.
    """
    detail = reader.get_run(run_id)
    if detail is not None:
        return not detail.summary.status.is_final
    directory = scratch_root(reader.path) / run_id
    try:
        return directory.stat().st_mtime > time.time() - SCRATCH_GRACE_SEC
    except OSError:
        return False


def _remove_logs(reader: LedgerReader, deleted: list[str], cutoff: float) -> int:
    """Remove the log dirs of deleted runs, and old ones of runs no longer in the ledger.

    The second kind is left behind when an earlier gc was interrupted between its two halves.
    """
    root = logs_dir(reader.path)
    if not root.is_dir():
        return 0
    doomed = {root / run_id for run_id in deleted}
    for directory in root.iterdir():
        if directory in doomed or not directory.is_dir():
            continue
        if directory.stat().st_mtime < cutoff and reader.get_run(directory.name) is None:
            doomed.add(directory)
    removed = 0
    for directory in doomed:
        if directory.is_dir():
            shutil.rmtree(directory, ignore_errors=True)
            removed += 1
    return removed
