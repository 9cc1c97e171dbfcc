"""The step cache's input hashing: a part per matched file, and patterns pathlib refuses."""

from __future__ import annotations

from pathlib import Path

from engine.run.step_cache import describe, hash_inputs


def test_each_matched_file_is_a_part_and_an_empty_glob_is_one_too(tmp_path: Path) -> None:
    (tmp_path / "src" / "sub").mkdir(parents=True)
    (tmp_path / "src" / "a.c").write_text("a")
    (tmp_path / "src" / "sub" / "b.c").write_text("b")
    parts = hash_inputs(tmp_path, ("src/**/*.c", "docs/*.md"))
    assert set(parts) == {"input:src/a.c", "input:src/sub/b.c", "input:docs/*.md"}
    assert parts["input:docs/*.md"] == "no files"
    (tmp_path / "src" / "a.c").write_text("A")
    changed = hash_inputs(tmp_path, ("src/**/*.c", "docs/*.md"))
    assert describe(parts, changed) == "input changed: src/a.c"


def test_a_pattern_pathlib_refuses_matches_nothing(tmp_path: Path) -> None:
    assert hash_inputs(tmp_path, (".",)) == {"input:.": "no files"}
