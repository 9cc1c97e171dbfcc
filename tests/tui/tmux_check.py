"""Drive `ledger-tui` in a real terminal (tmux) against a live `engine run`, as a person would.

    python -m tests.tui.tmux_check        # needs tmux; exit 0 when every check passed

It starts the dashboard in a detached tmux session (its own server socket) on a fresh ledger,
starts an engine, reads the screen with `capture-pane`, and prints one line per check: the log
follows the running step, a finished step's status line says how it ended, a skipped one why, `x`
on a finished step is refused, `/` finds a match, and after `kill -9` of the engine the run detail
says "owner gone" and Runs says "gone" within seconds; no traceback ever reaches the screen.
tests/tui/test_tmux_check.py runs it in the suite when tmux is installed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

BIN = Path(sys.executable).parent
PATIENCE_SEC = 30.0  # a loaded machine: generous, and only a failure waits this long


class Terminal:
    """A tmux session with its own server socket, so nothing touches the user's sessions."""

    def __init__(self, command: str, width: int = 140, height: int = 40) -> None:
        self.socket = f"ledger-tui-check-{os.getpid()}"
        self._tmux("new-session", "-d", "-s", "check", "-x", str(width), "-y", str(height), command)

    def _tmux(self, *args: str) -> str:
        # COLUMNS and LINES (which a test runner may set) would override the window's size.
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "TMUX")}
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=30, env=env
        )
        return done.stdout

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "check")

    def keys(self, *keys: str) -> None:
        for key in keys:  # in order, as typed; the checks wait for what they assert
            self._tmux("send-keys", "-t", "check", key)

    def close(self) -> None:
        self._tmux("kill-server")


def until(condition: Callable[[], bool], timeout: float = PATIENCE_SEC) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


class Checks:
    """Named checks on a terminal's screen, each printed as it is decided; the failed ones kept."""

    def __init__(self, terminal: Terminal) -> None:
        self.terminal = terminal
        self.failed: list[str] = []

    def __call__(
        self, what: str, condition: Callable[[], bool], timeout: float = PATIENCE_SEC
    ) -> bool:
        ok = until(condition, timeout)
        print(f"{'ok  ' if ok else 'FAIL'} {what}", flush=True)
        if not ok:
            self.failed.append(what)
            print("     the screen was:\n" + self.terminal.screen(), flush=True)
        return ok

    def shows(self, *texts: str) -> Callable[[], bool]:
        """A condition: every one of `texts` is on the screen."""
        return lambda: all(text in self.terminal.screen() for text in texts)


def write_plan(folder: Path, gate: Path) -> Path:
    loop = f"for i in $(seq 3000); do [ -e {gate} ] && exit 0; echo long line $i; sleep 0.1; done"
    plan = {
        "name": "tmux-check",
        "vars": {"GO": "no"},
        "steps": [
            {"id": "quick", "command": "echo quick output", "shell": True},
            {"id": "long", "command": loop, "shell": True, "depends_on": ["quick"]},
            {"id": "later", "command": "true", "condition": "vars.GO == 'yes'"},
        ],
    }
    path = folder / "plan.json"
    path.write_text(json.dumps(plan), encoding="utf-8")
    return path


def run_checks(folder: Path) -> list[str]:
    """Run every check; return the failed ones (printing each result as it comes)."""
    ledger, gate = folder / "ledger.db", folder / "gate"
    env = {**os.environ, "LEDGER_DB": "", "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    terminal = Terminal(
        f"cd {folder} && {BIN / 'ledger-tui'} --ledger {ledger} --poll-interval 0.1;"
        " echo DASHBOARD-EXITED $?; sleep 600"
    )
    engine = subprocess.Popen(
        [str(BIN / "engine"), "run", str(write_plan(folder, gate)), "-q", "--ledger", str(ledger)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )

    check = Checks(terminal)
    shows, failures = check.shows, check.failed

    try:
        if not check("Runs lists the live run", shows("tmux-check")):
            return failures
        terminal.keys("g", "Enter")
        check("the run detail opens and follows the running step's log", shows("● following"))
        check("the followed log shows the running step's lines", shows("long line"))
        terminal.keys("k")
        check(
            "a finished step's status line says how it ended",
            shows("quick attempt 1  ■ finished: succeeded (exit 0)"),
        )
        terminal.keys("x")
        check("x on a finished step is refused", shows("already finished (succeeded)"))
        terminal.keys("/", *"QUICK", "Enter")
        check("/ finds a match in the shown log", shows("/QUICK: match 1 of 1"))
        terminal.keys("j", "j")
        check("a skipped step says why", shows("skipped: condition was false"))
        engine.send_signal(signal.SIGKILL)
        engine.wait(timeout=30)
        check("kill -9 of the engine: the run detail says owner gone", shows("owner gone"), 10)
        terminal.keys("Escape")
        check("kill -9 of the engine: Runs says gone", shows("☠ gone"), 10)
        screen = terminal.screen()
        check("no traceback and the dashboard still runs", lambda: "Traceback" not in screen
              and "DASHBOARD-EXITED" not in screen, 0)  # fmt: skip
    finally:
        gate.touch()  # the step's loop ends by itself; it outlived its engine in its own session
        if engine.poll() is None:
            engine.kill()
            engine.wait()
        terminal.close()
    return failures


def main(run: Callable[[Path], list[str]] = run_checks, prefix: str = "ledger-tui-check-") -> int:
    """Run `run`'s checks in a fresh folder: 0 when every one passed, 1 when one failed."""
    if shutil.which("tmux") is None:
        print("tmux is not installed (apt install tmux)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        failures = run(Path(folder))
    print(f"{len(failures)} check(s) failed" if failures else "every check passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
