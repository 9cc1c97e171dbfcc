"""hashFiles() in conditions: a hash of the plan directory's files that match (conditions.md)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from engine.plan.expressions import (
    EvalContext,
    ExpressionError,
    check_expression,
    evaluate,
    parse_expression,
)


def hash_of(*contents: bytes) -> str:
    combined = hashlib.sha256()
    for content in contents:
        combined.update(hashlib.sha256(content).digest())
    return combined.hexdigest()


@pytest.fixture
def plan_dir(tmp_path: Path) -> Path:
    (tmp_path / "src" / "deep").mkdir(parents=True)
    (tmp_path / "a.lock").write_bytes(b"alpha")
    (tmp_path / "src" / "b.lock").write_bytes(b"beta")
    (tmp_path / "src" / "deep" / "c.lock").write_bytes(b"gamma")
    (tmp_path / "notes.txt").write_bytes(b"not a lock")
    return tmp_path


def hash_files(source: str, base_dir: Path) -> object:
    return evaluate(parse_expression(source), EvalContext(base_dir=str(base_dir)))


def test_one_hash_over_the_matching_files_in_path_order(plan_dir: Path) -> None:
    assert hash_files("hashFiles('**/*.lock')", plan_dir) == hash_of(b"alpha", b"beta", b"gamma")
    assert hash_files("hashFiles('*.lock', 'notes.txt')", plan_dir) == hash_of(
        b"alpha", b"not a lock"
    )


def test_a_bang_pattern_leaves_files_out_and_no_match_is_empty(plan_dir: Path) -> None:
    expected = hash_of(b"alpha", b"gamma")
    assert hash_files("hashFiles('**/*.lock', '!src/b.lock')", plan_dir) == expected
    assert hash_files("hashFiles('*.nothing')", plan_dir) == ""
    assert hash_files("hashfiles('**/*.lock') != ''", plan_dir) is True


def test_a_changed_file_changes_the_hash(plan_dir: Path) -> None:
    before = hash_files("hashFiles('**/*.lock')", plan_dir)
    (plan_dir / "src" / "b.lock").write_bytes(b"beta 2")
    assert hash_files("hashFiles('**/*.lock')", plan_dir) != before


def test_a_pattern_written_out_cannot_leave_the_plan_directory() -> None:
    for pattern in ("../*.lock", "/etc/passwd", "!src/../../x"):
        expr = parse_expression(f"hashFiles('{pattern}') != ''")
        [problem] = check_expression(expr, known_steps=set(), ancestors=None, known_vars=None)
        assert "looks only inside the plan's directory" in problem.message
        assert problem.column == 11


def test_a_computed_pattern_that_leaves_fails_the_step(plan_dir: Path) -> None:
    ctx = EvalContext(base_dir=str(plan_dir), env={"P": "../../*"})
    with pytest.raises(ExpressionError, match="looks only inside the plan's directory"):
        evaluate(parse_expression("hashFiles(env.P)"), ctx)


def test_a_symlink_out_of_the_plan_directory_is_left_out(
    plan_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("outside") / "secret.lock"
    outside.write_bytes(b"secret")
    os.symlink(outside, plan_dir / "link.lock")
    assert hash_files("hashFiles('*.lock')", plan_dir) == hash_of(b"alpha")
