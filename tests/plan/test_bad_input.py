"""Every way a plan file can be wrong: one clear sentence on stderr, exit 2, never a traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from engine.states import ExitCode
from tests.plan.plan_helpers import plan_doc, run_engine, step


def _validate(path: Path | str, *extra: str) -> tuple[int, str]:
    result = run_engine("validate", str(path), *extra)
    assert "Traceback" not in result.stderr, result.stderr
    assert "Traceback" not in result.stdout, result.stdout
    return result.returncode, result.stderr


def _write_bytes(tmp_path: Path, data: bytes, name: str = "plan.json") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


CASES = {
    "not JSON": (b"name: demo\nsteps: []\n", "not valid JSON"),
    "empty file": (b"", "is empty"),
    "only whitespace": (b"  \n\t\n", "is empty"),
    "truncated JSON": (b'{"name": "demo",\n "steps": [\n', "plan.json:3: not valid JSON"),
    "trailing garbage": (b'{"name": "x", "steps": [{"id": "a", "command": "b"}]} x', "Extra data"),
    "non-UTF-8 bytes": (b'{"name": "caf\xe9", "steps": []}', "not UTF-8"),
    "UTF-16": ('{"name": "x"}'.encode("utf-16"), "not UTF-8"),
    "array at top level": (b'[{"id": "a", "command": "true"}]', "holds an array"),
    "string at top level": (b'"plan"', "holds a string"),
    "number at top level": (b"42", "holds a number"),
    "null at top level": (b"null", "holds null"),
    "NaN": (b'{"name": "x", "steps": [], "version": NaN}', "NaN is not a JSON value"),
    "infinite number": (b'{"name": "x", "steps": [], "vars": {"X": 1e400}}', "1e400 is too large"),
    "10,000 nested brackets": (b"[" * 10_000 + b"]" * 10_000, "nested too deeply"),
    "10,000 nested objects": (b'{"a":' * 10_000 + b"1" + b"}" * 10_000, "nested too deeply"),
}


@pytest.mark.parametrize("data, expected", CASES.values(), ids=CASES.keys())
def test_unreadable_documents_are_one_sentence(tmp_path: Path, data: bytes, expected: str) -> None:
    code, stderr = _validate(_write_bytes(tmp_path, data))
    assert code == ExitCode.USAGE == 2
    assert expected in stderr
    assert stderr.startswith("engine: ")
    assert len(stderr.strip().splitlines()) == 1, stderr


def test_a_directory(tmp_path: Path) -> None:
    code, stderr = _validate(tmp_path)
    assert code == 2
    assert "is a directory, not a plan file" in stderr


def test_a_missing_file(tmp_path: Path) -> None:
    code, stderr = _validate(tmp_path / "nope.json")
    assert code == 2
    assert "nope.json: no such file" in stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_an_unreadable_file(tmp_path: Path) -> None:
    path = _write_bytes(tmp_path, b"{}")
    path.chmod(0)
    code, stderr = _validate(path)
    assert code == 2
    assert "permission denied" in stderr


def test_a_50_mb_plan(tmp_path: Path) -> None:
    document = plan_doc(step("a"), description="x" * (50 * 1024 * 1024))
    path = _write_bytes(tmp_path, json.dumps(document).encode())
    code, stderr = _validate(path)
    assert code == 2
    assert "50.0 MB; a plan may be at most 16 MB" in stderr


def test_a_step_id_with_spaces(tmp_path: Path) -> None:
    path = _write_bytes(tmp_path, json.dumps(plan_doc(step("build it")), indent=2).encode())
    code, stderr = _validate(path)
    assert code == 2
    assert 'plan.json:5: steps[0].id: "build it" may contain only letters, digits' in stderr


def test_unknown_fields_are_named_with_what_is_allowed(tmp_path: Path) -> None:
    document = plan_doc(step("a", cmd="x"), stpes=[], globals={"concurrency": 2})
    path = _write_bytes(tmp_path, json.dumps(document, indent=2).encode())
    code, stderr = _validate(path)
    assert code == 2
    assert (
        '$: unknown field "stpes" (allowed: $schema, cancel_in_progress, concurrency_group,'
        " description, globals,"
    ) in stderr
    assert 'steps[0]: unknown field "cmd" (allowed: args, cache, circuit, command,' in stderr
    assert 'globals: unknown field "concurrency" (allowed:' in stderr
    assert "3 problems" in stderr


def test_a_huge_bad_value_is_not_echoed_whole(tmp_path: Path) -> None:
    document = plan_doc(step("a" * 5000 + " b"), description=[[[["x" * 100_000]]]])
    path = _write_bytes(tmp_path, json.dumps(document).encode())
    code, stderr = _validate(path)
    assert code == 2
    assert max(len(line) for line in stderr.splitlines()) < 300, stderr[:500]


def test_bad_var_flags_are_usage_errors(tmp_path: Path) -> None:
    path = _write_bytes(tmp_path, json.dumps(plan_doc(step("a"))).encode())
    for flag in ("X", "=1", "1X=2", "A B=1"):
        code, stderr = _validate(path, "--var", flag)
        assert code == 2, flag
        assert "expected NAME=VALUE" in stderr


def test_missing_argument_is_a_usage_error() -> None:
    result = run_engine("validate")
    assert result.returncode == 2
    assert "Missing argument" in result.stderr
    assert "Traceback" not in result.stderr


def test_problems_go_to_stderr_and_nothing_to_stdout(tmp_path: Path) -> None:
    path = _write_bytes(tmp_path, b'{"name": "x", "steps": [{"id": "a"}]}')
    result = run_engine("validate", str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    assert 'steps[0]: step "a" needs command (a program), run (a script) or plan' in result.stderr


def test_a_fifo_is_refused_at_once(tmp_path: Path) -> None:
    # Nobody ever writes to it: opening it for reading would wait forever.
    fifo = tmp_path / "plan.json"
    os.mkfifo(fifo)
    code, stderr = _validate(fifo)
    assert code == 2
    assert stderr == f"engine: {fifo} is a FIFO (named pipe), not a regular plan file\n"
    result = run_engine("run", str(fifo), "--ledger", str(tmp_path / "l.db"))
    assert result.returncode == 2 and "is a FIFO (named pipe)" in result.stderr


def test_a_device_is_refused(tmp_path: Path) -> None:
    code, stderr = _validate("/dev/null")
    assert code == 2 and "/dev/null is a device, not a regular plan file" in stderr


SURROGATES = {
    "lone high in args": ('"args": ["\\ud800"]', 3, "\\ud800"),
    "lone low after text": ('"args": ["x\\udc00y"]', 3, "\\udc00"),
    "high then high": ('"args": ["\\ud83d\\ud83d\\ude00"]', 3, "\\ud83d"),
    "in an env name": ('"env": {"\\udfff": "x"}', 3, "\\udfff"),
}


@pytest.mark.parametrize("field, line, escape", SURROGATES.values(), ids=SURROGATES.keys())
def test_a_lone_surrogate_escape_is_one_sentence(
    tmp_path: Path, field: str, line: int, escape: str
) -> None:
    text = '{"name": "x",\n "steps": [{"id": "a", "command": "true",\n' + field + "}]}"
    path = _write_bytes(tmp_path, text.encode())
    code, stderr = _validate(path)
    assert code == 2
    assert stderr == (
        f"engine: {path}:{line}: {escape} is a lone UTF-16 surrogate, not a character; "
        "write the character itself or a complete surrogate pair\n"
    )
    run = run_engine("run", str(path), "--ledger", str(tmp_path / "l.db"))
    assert run.returncode == 2 and "Traceback" not in run.stderr


def test_surrogate_pairs_and_escaped_backslashes_are_text(tmp_path: Path) -> None:
    args = '["\\ud83d\\ude00", "\\\\ud800"]'
    text = '{"name": "x", "steps": [{"id": "a", "command": "echo", "args": ' + args + "}]}"
    code, stderr = _validate(_write_bytes(tmp_path, text.encode()))
    assert code == 0, stderr
