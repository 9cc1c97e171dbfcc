"""spawn() on both of its paths (fork_exec directly, and the Popen fallback), with real children."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from engine.executors import spawn as spawn_module
from engine.executors.spawn import spawn


@pytest.fixture(params=["direct", "popen"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "direct" and not spawn_module.DIRECT:
        pytest.skip(f"fork_exec is not called directly on Python {sys.version_info[:2]}")
    monkeypatch.setattr(spawn_module, "DIRECT", request.param == "direct")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the Popen path must not warn that the child still runs
        yield request.param


@pytest.mark.skipif(not spawn_module.DIRECT, reason="fork_exec is not called on this Python")
def test_direct_path_does_not_go_through_popen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_popen(*args: object, **kwargs: object) -> None:
        raise AssertionError("Popen was called")

    monkeypatch.setattr(subprocess, "Popen", no_popen)
    assert _run(["true"], tmp_path) == (0, "")


def _run(argv: list[str], tmp_path: Path, **kwargs: object) -> tuple[int, str]:
    """Spawns with the output in a file; returns the exit status and the output."""
    out = tmp_path / "out"
    options: dict[str, object] = {"cwd": None, "env": {"PATH": os.environ["PATH"]}, **kwargs}
    with open(os.devnull, "rb") as stdin, open(out, "wb") as sink:
        fds = {"stdin": stdin.fileno(), "stdout": sink.fileno(), "stderr": sink.fileno()}
        pid = spawn(argv, **fds, **options)  # type: ignore[arg-type]
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out.read_text()


def test_child_gets_its_session_stdio_cwd_and_exact_environment(path: str, tmp_path: Path) -> None:
    script = "import os; print(os.getsid(0) == os.getpid(), os.getcwd(), sorted(os.environ))"
    env = {"PATH": os.environ["PATH"], "ONLY_THIS": "1"}
    code, out = _run([sys.executable, "-S", "-c", script], tmp_path, cwd=str(tmp_path), env=env)
    assert code == 0
    leader, cwd, names = out.split(" ", 2)
    assert leader == "True" and cwd == str(tmp_path)
    assert set(eval(names)) - {"LC_CTYPE"} == {"PATH", "ONLY_THIS"}  # Python may add LC_CTYPE


def test_bare_command_is_looked_up_in_the_childs_path(path: str, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "only-here"
    tool.write_text("#!/bin/sh\necho found\n")
    tool.chmod(0o755)
    assert _run(["only-here"], tmp_path, env={"PATH": str(bin_dir)}) == (0, "found\n")


def test_no_other_descriptor_reaches_the_child(path: str, tmp_path: Path) -> None:
    leaked = os.open(os.devnull, os.O_RDONLY)
    os.set_inheritable(leaked, True)
    try:
        code, out = _run(["ls", "/proc/self/fd"], tmp_path)
    finally:
        os.close(leaked)
    # 0-2, plus the directory ls itself opens to list them.
    assert code == 0 and len(out.split()) <= 4


@pytest.mark.parametrize(
    ("argv", "cwd", "error", "names"),
    [
        (["frobnicate-no-such-command"], None, FileNotFoundError, "command"),
        (["true"], "{tmp}/no-such-dir", FileNotFoundError, "cwd"),
        (["{tmp}/not-executable"], None, PermissionError, "command"),
    ],
)
def test_exec_failure_raises_as_popen_does_and_leaves_nothing_behind(
    path: str,
    tmp_path: Path,
    argv: list[str],
    cwd: str | None,
    error: type[OSError],
    names: str,
) -> None:
    (tmp_path / "not-executable").write_text("echo no\n")
    argv = [arg.format(tmp=tmp_path) for arg in argv]
    cwd = None if cwd is None else cwd.format(tmp=tmp_path)
    before = _pipes()
    with pytest.raises(error) as raised:
        spawn(argv, cwd=cwd, env={"PATH": os.environ["PATH"]}, stdin=0, stdout=1, stderr=2)
    assert raised.value.filename == (cwd if names == "cwd" else argv[0])
    assert _pipes() <= before  # the report pipe is closed
    zombies = [c for c in psutil.Process().children() if c.status() == psutil.STATUS_ZOMBIE]
    assert zombies == []  # and the child that could not exec was reaped


def _pipes() -> set[tuple[str, str]]:
    """This process's open pipes, as (descriptor, pipe). Only pipes: other threads (an earlier
    test's) may open other descriptors meanwhile, and CI once saw one appear."""
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # the listing's own descriptor, closed once listed
            continue
        if target.startswith("pipe:"):
            found.add((fd, target))
    return found


@pytest.mark.parametrize(
    ("argv", "env"),
    [(["true"], {"BAD=NAME": "x"}), (["echo", "nul\0byte"], {})],
)
def test_arguments_popen_refuses_raise_value_error(
    path: str, argv: list[str], env: dict[str, str]
) -> None:
    with pytest.raises(ValueError):
        spawn(argv, cwd=None, env={"PATH": os.environ["PATH"], **env}, stdin=0, stdout=1, stderr=2)
