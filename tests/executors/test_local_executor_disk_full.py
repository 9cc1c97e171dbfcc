"""LocalExecutor on a full disk: output that cannot reach the log is reported, never dropped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.executors.local import LocalExecutor
from tests.executors.processes import SpecFactory
from tests.small_disk import fill, small_disk

DISK_KB = 256
OUTPUT_BYTES = 1024 * 1024  # four times the disk
PRINT_X = f"head -c {OUTPUT_BYTES} /dev/zero | tr '\\0' x"


@pytest.fixture
def logs_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 KB file system where make_spec puts the log (tmp_path/logs)."""
    with small_disk(tmp_path / "logs", size_kb=DISK_KB) as path:
        yield path


async def test_a_masked_log_that_fills_the_disk_says_how_many_bytes_were_lost(
    executor: LocalExecutor, make_spec: SpecFactory, logs_disk: Path
) -> None:
    spec = make_spec("sh", "-c", f"{PRINT_X}; echo hunter2", mask_values=("hunter2",))
    result = await (await executor.launch(spec)).wait()
    assert result.exit_code == 0
    assert result.log_error == "No space left on device"
    kept = Path(spec.log_path).read_bytes().count(b"x")
    assert 0 < kept < OUTPUT_BYTES
    # What was not kept was lost and counted: the x's, then "***\n" (the masked echo).
    assert result.log_bytes_lost == OUTPUT_BYTES - kept + len(b"***\n")


async def test_a_direct_log_on_a_full_disk_is_reported_without_a_count(
    executor: LocalExecutor, make_spec: SpecFactory, logs_disk: Path
) -> None:
    spec = make_spec("sh", "-c", PRINT_X)
    result = await (await executor.launch(spec)).wait()
    assert result.exit_code != 0  # the child saw the write error; the engine did not
    assert result.log_error == "No space left on device"
    assert result.log_bytes_lost is None


async def test_output_that_fits_is_no_log_error(
    executor: LocalExecutor, make_spec: SpecFactory, logs_disk: Path
) -> None:
    for mask in ((), ("hunter2",)):
        spec = make_spec("sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x", mask_values=mask)
        result = await (await executor.launch(spec)).wait()
        assert (result.exit_code, result.log_error, result.log_bytes_lost) == (0, None, None)


async def test_on_a_full_disk_a_silent_step_that_succeeds_lost_nothing(
    executor: LocalExecutor, make_spec: SpecFactory, logs_disk: Path
) -> None:
    first = await (await executor.launch(make_spec("true"))).wait()  # creates the log's dir
    assert first.log_error is None
    fill(logs_disk)
    silent = await (await executor.launch(make_spec("true", attempt=2))).wait()
    assert (silent.exit_code, silent.log_error) == (0, None)
    # Printing nothing and failing looks the same as failing to print: the log may be cut.
    failed = await (await executor.launch(make_spec("sh", "-c", "echo hi || exit 3"))).wait()
    assert (failed.exit_code, failed.log_error) == (3, "No space left on device")


async def test_a_log_file_that_cannot_be_created_is_a_spawn_failure_not_a_crash(
    executor: LocalExecutor, make_spec: SpecFactory, tmp_path: Path
) -> None:
    # Room for the run's log directory, and no inode left for the log file in it.
    with small_disk(tmp_path / "logs", size_kb=DISK_KB, inodes=2):
        spec = make_spec("true")
        result = await (await executor.launch(spec)).wait()
    assert result.spawn_error == f"cannot open log file {spec.log_path}: No space left on device"
    assert result.pid is None
