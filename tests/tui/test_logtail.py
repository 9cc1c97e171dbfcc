"""LogTail reads only what was appended, whole lines only, and starts big files at their end."""

from __future__ import annotations

from pathlib import Path

from ledger_tui import format as fmt
from ledger_tui.logtail import INITIAL_TAIL_BYTES, LogTail, resolve_log_path


def test_reads_appended_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "step.1.log"
    path.write_text("one\ntw")
    tail = LogTail()
    first = tail.read(str(path))
    assert first.reset and first.lines == ("one",)
    assert tail.read(str(path)).lines == ()
    with path.open("a") as file:
        file.write("o\nthree\n")
    again = tail.read(str(path))
    assert not again.reset and again.lines == ("two", "three")


def test_partial_last_line_is_flushed_once_the_step_ended(tmp_path: Path) -> None:
    path = tmp_path / "step.1.log"
    path.write_text("done without newline")
    tail = LogTail()
    assert tail.read(str(path)).lines == ()
    assert tail.flush_partial() == ("done without newline",)
    assert tail.flush_partial() == ()


def test_big_file_starts_near_its_end(tmp_path: Path) -> None:
    path = tmp_path / "big.log"
    line = "x" * 99 + "\n"
    path.write_text(line * (3 * INITIAL_TAIL_BYTES // 100))
    chunk = LogTail().read(str(path))
    assert chunk.skipped_bytes > 0
    assert 0 < len(chunk.lines) <= INITIAL_TAIL_BYTES // 100
    assert all(text == "x" * 99 for text in chunk.lines)


def test_missing_and_switched_files(tmp_path: Path) -> None:
    tail = LogTail()
    assert tail.read(str(tmp_path / "gone.log")).missing
    other = tmp_path / "b.log"
    other.write_text("b\n")
    chunk = tail.read(str(other))
    assert chunk.reset and chunk.lines == ("b",)
    assert tail.read(None).lines == ()


def test_relative_log_paths_resolve_next_to_the_ledger(tmp_path: Path) -> None:
    ledger = tmp_path / ".ledger" / "framework.db"
    assert resolve_log_path(".ledger/logs/r/a.1.log", ledger) == str(
        tmp_path / ".ledger/logs/r/a.1.log"
    )
    assert resolve_log_path("/abs/a.log", ledger) == "/abs/a.log"


def test_durations_format_compactly() -> None:
    assert [fmt.duration(ms) for ms in (None, 850, 12_300, 245_000, 7_380_000, 270_000_000)] == [
        "-",
        "850ms",
        "12.3s",
        "4m05s",
        "2h03m",
        "3d03h",
    ]
