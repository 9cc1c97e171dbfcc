"""`engine gc --older-than 30d`: delete old finished runs with their events, outputs and logs."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import click

from engine.cli.options import json_option, ledger_option
from engine.cli.output import open_ledger, parse_duration, print_json
from engine.humanize import plural
from engine.ledger.location import logs_dir, shared_logs_dir
from engine.ledger.maintenance import GcPreview, delete_runs, gc_preview
from engine.ledger.reader import LedgerReader
from engine.ledger.scratch import remove_legacy_scratch, remove_stale_scratch, scratch_root
from engine.states import ExitCode

SLICE_RUNS = 20
PAUSE_SEC = 0.01
SCRATCH_GRACE_SEC = 60.0


@click.command("gc")
@click.option("--older-than", "older_than", required=True, metavar="AGE", help="e.g. 30d, 12h, 2w.")
@click.option("--dry-run", is_flag=True, help="Say what would be deleted; delete nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before deleting most of the ledger.")
@ledger_option
@json_option
def command(older_than: str, dry_run: bool, yes: bool, ledger: str | None, as_json: bool) -> int:
    """Delete finished runs created more than AGE ago; running runs are always kept.

    Also removes the scratch dirs (step outputs, secrets included) of every run that is over.

    Deletes in small transactions, so an engine writing to the same ledger never waits long.
    """
    cutoff = time.time() - parse_duration(older_than)
    with open_ledger(ledger) as reader:
        preview = gc_preview(reader.path, before=cutoff)
        if dry_run:
            return _show_preview(reader.path, preview, older_than, as_json)
        if not yes and not _confirmed(preview, older_than):
            click.echo("engine: nothing was deleted.", err=True)
            return int(ExitCode.FAILED)
        # Where $ENGINE_OUTPUT used to live, raw secrets included; while the runs are still known.
        legacy = remove_legacy_scratch(Path(tempfile.gettempdir()), lambda i: _is_over(reader, i))
        deleted = _delete_in_slices(reader, preview.run_ids)
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
        deleted_runs, log_dirs = plural(len(deleted), "run"), plural(removed, "log dir")
        click.echo(f"deleted {deleted_runs} older than {older_than} and {log_dirs}")
        if scratch_count:
            click.echo(f"removed the scratch dirs of {plural(scratch_count, 'run')} that are over")
    return int(ExitCode.OK)


def _confirmed(preview: GcPreview, older_than: str) -> bool:
    """Ask on a terminal before deleting more than half the ledger's runs; off one, go ahead."""
    doomed = len(preview.run_ids)
    if doomed * 2 <= preview.total_runs or not sys.stdin.isatty():
        return True
    return click.confirm(
        f"Delete {doomed} of the ledger's {plural(preview.total_runs, 'run')}"
        f" (older than {older_than})?",
        default=False,
        err=True,
    )


def _show_preview(ledger: Path, preview: GcPreview, older_than: str, as_json: bool) -> int:
    log_bytes = sum(_tree_bytes(d) for d in _run_log_dirs(ledger, preview.run_ids))
    if as_json:
        print_json(
            {
                "dry_run": True,
                "runs": len(preview.run_ids),
                "total_runs": preview.total_runs,
                "events": preview.events,
                "log_bytes": log_bytes,
                "run_ids": list(preview.run_ids),
            }
        )
    else:
        for run_id in preview.run_ids:
            click.echo(run_id)
        click.echo(
            f"would delete {len(preview.run_ids)} of {plural(preview.total_runs, 'run')}"
            f" older than "
            f"{older_than}, {plural(preview.events, 'event')} and {_size(log_bytes)} of logs"
        )
    return int(ExitCode.OK)


def _delete_in_slices(reader: LedgerReader, run_ids: tuple[str, ...]) -> list[str]:
    """Delete these runs, oldest first, SLICE_RUNS at a time.

    Back-to-back write transactions starve a concurrent engine (SQLite's busy handler sleeps
    with backoff, and finds the lock taken again when it wakes), so each slice is followed by a
    pause in which the engine's commits get through.
    """
    deleted: list[str] = []
    for start in range(0, len(run_ids), SLICE_RUNS):
        deleted.extend(delete_runs(reader.path, run_ids[start : start + SLICE_RUNS]))
        time.sleep(PAUSE_SEC)
    return deleted


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


def _run_log_dirs(ledger: Path, run_ids: tuple[str, ...] | list[str]) -> list[Path]:
    """The log directories of these runs: this ledger's own, or the shared `logs/` of old runs."""
    roots = dict.fromkeys([logs_dir(ledger), shared_logs_dir(ledger)])
    return [root / run_id for run_id in run_ids for root in roots if (root / run_id).is_dir()]


def _remove_logs(reader: LedgerReader, deleted: list[str], cutoff: float) -> int:
    """Remove the log dirs of deleted runs, and old ones of runs no longer in this ledger.

    The second kind is left behind when an earlier gc was interrupted between its two halves;
    it is looked for only in this ledger's own logs directory, never in one another ledger uses.
    """
    doomed = set(_run_log_dirs(reader.path, deleted))
    root = logs_dir(reader.path)
    if root.is_dir():
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


def _tree_bytes(directory: Path) -> int:
    total = 0
    for parent, _, files in os.walk(directory):
        for name in files:
            try:
                total += os.lstat(os.path.join(parent, name)).st_size
            except OSError:  # removed while we looked
                continue
    return total


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} B"
    scaled = float(count)
    for unit in ("KB", "MB", "GB"):
        scaled /= 1024
        if scaled < 1024 or unit == "GB":
            break
    return f"{scaled:.1f} {unit}"
