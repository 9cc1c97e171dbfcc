"""spawn.py calls fork_exec directly only on the CPython versions .ci/run runs the suite on.

fork_exec's argument list changes between CPython versions; a version let through the gate without
a CI leg of its own would spawn every step through a call nothing has checked. The versions are
listed once, in spawn.TESTED_VERSIONS; .ci/run and pyproject.toml must say the same.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

from engine.executors import spawn

REPO = Path(__file__).resolve().parents[2]
# Far enough either side of the tested versions to catch a gate written as a range.
EVERY_MINOR = [(3, minor) for minor in range(100)]


def _ci_versions() -> list[tuple[int, int]]:
    """The versions in .ci/run's `VERSIONS=(3.11 3.12 ...)` line, in its order."""
    text = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    lines = re.findall(r"^VERSIONS=\(([^)]*)\)", text, re.MULTILINE)
    assert len(lines) == 1, f".ci/run must have one VERSIONS=(...) line, found {len(lines)}"
    versions = []
    for word in lines[0].split():
        match = re.fullmatch(r"(\d+)\.(\d+)", word)
        assert match, f".ci/run's VERSIONS has {word!r}, not a MAJOR.MINOR version"
        versions.append((int(match.group(1)), int(match.group(2))))
    return versions


def _project() -> dict[str, object]:
    with (REPO / "pyproject.toml").open("rb") as file:
        project: dict[str, object] = tomllib.load(file)["project"]
    return project


def test_the_gate_admits_exactly_the_versions_ci_tests() -> None:
    ci = _ci_versions()
    admitted = [version for version in EVERY_MINOR if spawn.calls_fork_exec(version)]
    untested = sorted(set(admitted) - set(ci))
    assert not untested, (
        f"spawn.py calls fork_exec directly on {untested}, which .ci/run does not test: "
        "add a CI leg for each (VERSIONS in .ci/run) or keep it on Popen"
    )
    assert sorted(ci) == admitted, f".ci/run tests {ci}, spawn.py's gate admits {admitted}"
    assert list(spawn.TESTED_VERSIONS) == ci


def test_the_running_interpreter_is_inside_the_gate_only_if_ci_tests_it() -> None:
    running = (sys.version_info.major, sys.version_info.minor)
    assert spawn.calls_fork_exec(running) == spawn.DIRECT, "DIRECT is not the gate's answer"
    if spawn.DIRECT:
        assert running in _ci_versions(), (
            f"fork_exec is called directly on this Python {running}, which .ci/run does not test"
        )


def test_pyproject_declares_the_tested_versions() -> None:
    project = _project()
    classifiers = project["classifiers"]
    assert isinstance(classifiers, list)
    declared = [
        tuple(int(part) for part in match.groups())
        for match in (
            re.fullmatch(r"Programming Language :: Python :: (\d+)\.(\d+)", line)
            for line in classifiers
        )
        if match
    ]
    assert declared == list(spawn.TESTED_VERSIONS)
    oldest = min(spawn.TESTED_VERSIONS)
    # No upper bound: an untested newer CPython still runs, spawning through Popen.
    assert project["requires-python"] == f">={oldest[0]}.{oldest[1]}"
