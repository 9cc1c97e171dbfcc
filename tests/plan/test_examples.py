"""Every plan in examples/ passes `engine validate`, and runs as its description promises."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.plan.loader import load_plan
from tests.plan.plan_helpers import REPO

EXAMPLES = sorted((REPO / "examples").glob("*.json"))


def test_the_examples_are_there() -> None:
    names = {path.stem for path in EXAMPLES}
    assert {"hello", "diamond", "retry", "release", "outputs", "conditions", "secrets"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_example_validates(path: Path) -> None:
    load_plan(path)  # what `engine validate` runs; tests/cli covers the command itself


def _run(
    path: str, tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "engine",
            "run",
            str(REPO / "examples" / path),
            "--ledger",
            str(tmp_path / "ledger.db"),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", ["diamond", "retry", "conditions"])
def test_example_runs(tmp_path: Path, name: str) -> None:
    result = _run(f"{name}.json", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    if name == "retry":
        assert "succeeded (attempt 3)" in result.stdout


@pytest.mark.slow
def test_the_secret_example_masks_the_token(tmp_path: Path) -> None:
    result = _run("secrets.json", tmp_path, env={"ENGINE_DEMO_TOKEN": "s3cr3t-value"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "s3cr3t-value" not in result.stdout + result.stderr
    logs = list((tmp_path).rglob("*.log"))
    assert logs, "no log files under the ledger"
    text = "".join(path.read_text() for path in logs)
    assert "calling the API with ***" in text
    assert "s3cr3t-value" not in text


@pytest.mark.slow
def test_the_release_example_merges_and_restores_on_failure(tmp_path: Path) -> None:
    workdir = tmp_path / "release-demo"
    for _ in range(2):  # safe to run again and again
        result = _run("release.json", tmp_path, "--var", f"WORKDIR={workdir}")
        assert result.returncode == 0, result.stdout + result.stderr
    git = ["git", "-C", str(workdir / "repo")]
    tags = subprocess.run([*git, "tag"], capture_output=True, text=True, check=True).stdout
    assert tags.split() == ["v1.0.0"]

    result = _run(
        "release.json", tmp_path, "--var", f"WORKDIR={workdir}", "--var", "SIMULATE_FAILURE=true"
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "restore: succeeded" in result.stdout
    head = subprocess.run(
        [*git, "rev-parse", "main", "engine-snapshot"], capture_output=True, text=True, check=True
    )
    main, snapshot = head.stdout.split()
    assert main == snapshot


def test_the_release_example_refuses_a_directory_it_did_not_create(tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "keep.txt").write_text("mine")
    result = _run("release.json", tmp_path, "--var", f"WORKDIR={precious}")
    assert result.returncode == 1
    assert (precious / "keep.txt").read_text() == "mine"
