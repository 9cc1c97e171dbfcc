"""Drive `ledger-tui` in tmux through its views, a run, a cancel and quitting, as a person would.

    python -m tests.tui.tmux_navigation   # needs tmux; exit 0 when every check passed

A second scenario beside tests/tui/tmux_check.py (which checks the run detail's log and the
owner-gone signals), on the same tmux Terminal: the header names the ledger, the row count shows,
`1`-`4` switch views, `enter` opens the live run and its log follows, `c` asks before canceling
and `y` cancels (the engine ends the run `canceled`), `q` quits with exit code 0. It prints one
line per check and exits 1 when any failed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.tui.tmux_check import BIN, Checks, Terminal, main, write_plan


def run_navigation_checks(folder: Path) -> list[str]:
    """Run every check; return the failed ones (printing each result as it comes)."""
    ledger, gate = folder / ".ledger" / "framework.db", folder / "gate"
    ledger.parent.mkdir(parents=True)
    env = {**os.environ, "LEDGER_DB": "", "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    terminal = Terminal(
        f"cd {folder} && {BIN / 'ledger-tui'} --poll-interval 0.1;"
        " echo DASHBOARD-EXITED $?; sleep 600",
        width=120,
    )
    engine = subprocess.Popen(
        [str(BIN / "engine"), "run", str(write_plan(folder, gate)), "--ledger", str(ledger)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=folder,
    )

    check = Checks(terminal)
    shows, failures = check.shows, check.failed

    try:
        if not check("Runs lists the live run", shows("tmux-check", "▶ running")):
            return failures
        check("the header names the ledger found upward", shows(".ledger/framework.db"))
        check("the row count shows under the list", shows("1 of 1 runs"))
        terminal.keys("3")
        check("3 shows Events", shows("Events —", "run_started"))
        terminal.keys("4")
        check("4 shows Stats", shows("Stats —"))
        terminal.keys("1")
        check("1 shows Runs again", shows("Runs —", "1 of 1 runs"))
        terminal.keys("Enter")
        check("enter opens the live run", shows("Run 1m", "long"))
        check("its log follows the running step", shows("● following", "long line"))
        terminal.keys("c")
        check("c asks before canceling", shows("Cancel run", "Cancel it"))
        terminal.keys("y")
        check("y cancels: the engine ends the run canceled", lambda: engine.poll() is not None)
        check("the run detail says canceled", shows("canceled"))
        terminal.keys("q")
        check("q quits with exit code 0", shows("DASHBOARD-EXITED 0"))
        check("no traceback reached the screen", lambda: "Traceback" not in terminal.screen(), 0)
    finally:
        gate.touch()
        if engine.poll() is None:
            engine.kill()
            engine.wait()
        terminal.close()
    return failures


if __name__ == "__main__":
    sys.exit(main(run_navigation_checks, "ledger-tui-nav-"))
