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


def test_the_commands_are_the_scripts_that_catch_signals_first() -> None:
    """`engine` and `ledger-tui` install scripts/, whose first lines handle the stop signals."""
    wheel = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["hatch"]["build"]
    assert wheel["targets"]["wheel"]["shared-scripts"] == {
        "scripts/engine": "engine",
        "scripts/ledger-tui": "ledger-tui",
    }
    for name in ("engine", "ledger-tui"):
        lines = (REPO / "scripts" / name).read_text().splitlines()
        assert lines[0] == "#!python"  # the installer points it at the environment's Python
        code = [line for line in lines if line.startswith(("import", "from"))]
        assert code[:2] == ["import _signal", "import sys"], name  # nothing else before
