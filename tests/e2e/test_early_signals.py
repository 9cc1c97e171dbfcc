"""A Ctrl-C at any moment of `engine run`'s start-up: exit 130, quietly, the ledger whole.

Each try sends SIGINT at a random moment after the spawn, half of them in its first 80 ms: the
interpreter's start, the script's imports, the plan, the ledger's creation, the run's set-up and
start. The installed `engine` script catches the stop signals on its first lines; before them only
Python's own start-up runs, which no script can reach (docs/cli.md, Signals): a SIGINT there kills
the process quietly (the shell's 130), or Python prints it: as a "Fatal Python error" (exit 1),
as a KeyboardInterrupt at line 0 of the script, before its first line ran (killed by SIGINT), or
with a traceback after which it goes on (importing `warnings` for PYTHONWARNINGS, set here, or
checking the script's path), when the script finds it and exits 130; or, raised in one of
importlib's weakref callbacks, Python prints "Exception ignored" and forgets it: the run goes on
and ends as if nothing came. Those tries are checked apart, and made again; the step is short, so
a run that went on ends by itself.
"""

from __future__ import annotations

import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import ENGINE, Engine
from tests.support import live_processes_with, wait_for

TRIES = 20
EARLY_SEC = 0.08  # the interpreter and the script's imports, on this machine
LATEST_SEC = 0.4  # past the run's start, even loaded
FATAL = "Fatal Python error: "
WENT_ON = ("Failed checking if argv[0] is an import path entry", "'import warnings' failed")
FORGOTTEN = "Exception ignored in: <function _get_module_lock.<locals>.cb"
LINE_0 = re.compile(
    r'Traceback \(most recent call last\):\n  File "[^"]*/engine", line 0, in <module>\n'
    r"KeyboardInterrupt\n"
)


def pythons_own_exit(stderr: str) -> int | None:
    """The exit code of a SIGINT that Python's own start-up met, or None if it was not that."""
    if stderr.startswith(FORGOTTEN) and "\nKeyboardInterrupt" in stderr:
        return 0  # only Python's own handler raises KeyboardInterrupt; the script's, SystemExit
    if stderr.startswith(FATAL):
        return 1
    if stderr.startswith(WENT_ON):
        return 130
    return -signal.SIGINT if LINE_0.fullmatch(stderr) else None


def runs_in(engine: Engine) -> dict[str, tuple[str, int | None]]:
    """Each run's id -> (status, exit code), read as sqlite3 would; none before the ledger."""
    if not engine.ledger_path.exists():
        return {}
    connection = sqlite3.connect(f"file:{engine.ledger_path}?mode=ro", uri=True)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        rows = connection.execute("SELECT id, status, exit_code FROM runs").fetchall()
    except sqlite3.OperationalError as error:
        assert "no such table" in str(error)  # the schema is created in one transaction
        return {}
    finally:
        connection.close()
    return {run_id: (status, code) for run_id, status, code in rows}


def installed_script_is_ours() -> bool:
    """Whether the venv's `engine` is scripts/engine (an older venv has a generated script)."""
    return "import _signal" in Path(ENGINE).read_text(encoding="utf-8", errors="replace")


@pytest.mark.slow
@pytest.mark.skipif(
    not installed_script_is_ours(), reason="this venv's engine predates scripts/: pip install -e ."
)
def test_sigint_at_random_moments_of_start_up(engine: Engine, marker: str) -> None:
    short = f"2.{marker.split('.')[1]}"  # a 2 s sleep this test's processes alone run
    plan = engine.plan(
        [{"id": "hold", "command": "sleep", "args": [short]}], globals={"kill_grace_sec": 0.5}
    )
    rng = random.Random(20261205)
    before: dict[str, tuple[str, int | None]] = {}
    counted = pythons_own = 0
    while counted < TRIES:
        # On a loaded machine Python's start-up outlasts many early moments: they are made again.
        assert pythons_own < 4 * TRIES, "Python's own start-up took nearly all the SIGINTs"
        proc = engine.start("run", plan)
        time.sleep(rng.uniform(0, EARLY_SEC if counted % 2 else LATEST_SEC))  # the moment itself
        proc.send_signal(signal.SIGINT)
        try:
            _, stderr = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        after = runs_in(engine)
        assert {k: v for k, v in after.items() if k in before} == before  # nothing lost
        assert len(after) - len(before) <= 1
        new = set(after.values()) - set(before.values())
        pythons_code = pythons_own_exit(stderr)
        if pythons_code is not None:
            pythons_own += 1
            assert proc.returncode == pythons_code, stderr
            assert new <= ({("succeeded", 0)} if pythons_code == 0 else set())
        else:
            counted += 1
            assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
            assert proc.returncode in (130, -signal.SIGINT), stderr
            assert new <= {("canceled", 130)}  # a run this try created was canceled
        before = after
        wait_for(lambda: not live_processes_with(short), timeout=15)


SWALLOWED = """
import os, signal, sys, weakref
from engine import signals

signals.install()


class Thing:
    pass


def callback(ref):  # Python ignores what a weakref callback raises, SystemExit too
    os.kill(os.getpid(), signal.SIGINT)
    for _ in range(10_000):
        pass


thing = Thing()
ref = weakref.ref(thing, callback)
del thing
print("went on", flush=True)
try:
    signals.hold()
except signals.Interrupted as interrupted:
    sys.exit(interrupted.exit_code)
print("the run would start", flush=True)
"""


def test_an_exit_python_swallowed_stops_the_run_before_it_is_created() -> None:
    """A Ctrl-C whose SystemExit was raised in a weakref callback (lost) still ends the engine.

    Quietly: Python would print the SystemExit it ignored as "Exception ignored in ...".
    """
    done = subprocess.run(
        [sys.executable, "-c", SWALLOWED], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout, done.stderr) == (130, "went on\n", "")


WRAPPED = """
import os, re, signal, sys
from engine.cli import main as entry  # the engine's stop signals are handled from here on

real = re.compile


def compile_interrupted(pattern, *args, **kwargs):
    # pydantic-core calls re.compile from Rust while it builds a model's validator: no frame of
    # its own, so the caller seen here is pydantic's create_schema_validator.
    if sys._getframe(1).f_code.co_name == "create_schema_validator":
        re.compile = real
        print("interrupted pydantic-core", file=sys.stderr, flush=True)
        os.kill(os.getpid(), signal.SIGINT)
    return real(pattern, *args, **kwargs)


re.compile = compile_interrupted
entry.main(["validate", sys.argv[1]])
"""


def test_a_ctrl_c_that_a_library_wrapped_in_its_own_error_still_exits_130(tmp_path: Path) -> None:
    """pydantic-core turns a SystemExit raised inside it into a SchemaError: still 130, quietly."""
    plan = tmp_path / "plan.json"
    plan.write_text('{"name": "p", "steps": [{"id": "a", "command": "true"}]}', encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", WRAPPED, str(plan)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.stderr == "interrupted pydantic-core\n"  # the signal did land inside pydantic-core
    assert done.returncode == 130
