"""What ships with the packages: type information, the license, versions."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from importlib import metadata, resources
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_both_packages_ship_py_typed() -> None:
    for package in ("engine", "ledger_tui"):
        assert resources.files(package).joinpath("py.typed").is_file(), package


def test_the_license_pyproject_names_is_there() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["license"] == {"text": "MIT"}
    assert (REPO / "LICENSE").read_text().startswith("MIT License")


def test_both_commands_print_their_version() -> None:
    version = metadata.version("plan-engine")
    for module, name in (("engine", "engine"), ("ledger_tui.cli", "ledger-tui")):
        result = subprocess.run(
            [sys.executable, "-m", module, "--version"], capture_output=True, text=True, timeout=60
        )
        assert (result.returncode, result.stdout) == (0, f"{name}, version {version}\n")
