"""The `$ENGINE_OUTPUT` format (docs/plans.md, "Outputs"): NAME=value lines, NAME<<DELIM heredocs,
the size cap."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.run.outputs import MAX_OUTPUT_BYTES, OutputError, parse_outputs, read_outputs


def test_name_value_lines_and_heredocs() -> None:
    text = "A=1\nB=x=y\n\nC<<EOF\nline 1\nD=not a name\n\nEOF\nE=\r\nA=2\n"
    assert parse_outputs(text) == {"A": "2", "B": "x=y", "C": "line 1\nD=not a name\n", "E": ""}


def test_an_equals_sign_after_the_heredoc_marker_belongs_to_the_delimiter() -> None:
    assert parse_outputs("X<<END=\nv\nEND=\n") == {"X": "v"}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("no separator\n", "expected NAME=value"),
        ("1BAD=x\n", "is not an output name"),
        ("X<<EOF\nnever closed\n", "never closed"),
    ],
)
def test_malformed_files_are_one_sentence_errors(text: str, fragment: str) -> None:
    with pytest.raises(OutputError, match=fragment):
        parse_outputs(text)


def test_a_missing_file_means_no_outputs(tmp_path: Path) -> None:
    assert read_outputs(tmp_path / "absent") == {}


def test_reading_consumes_the_file(tmp_path: Path) -> None:
    path = tmp_path / "out"
    path.write_text("TOKEN=raw secret\n")
    assert read_outputs(path) == {"TOKEN": "raw secret"}
    assert not path.exists()


def test_the_size_cap(tmp_path: Path) -> None:
    path = tmp_path / "out"
    path.write_bytes(b"A=" + b"a" * (MAX_OUTPUT_BYTES - 2))
    assert len(read_outputs(path)["A"]) == MAX_OUTPUT_BYTES - 2
    path.write_bytes(b"A=" + b"a" * (MAX_OUTPUT_BYTES - 1))
    with pytest.raises(OutputError, match="exceed 1024 KB"):
        read_outputs(path)
    assert not path.exists()
