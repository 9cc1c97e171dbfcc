"""`ledger-tui` on a terminal ends on SIGTERM or SIGHUP with 128 + its number, terminal restored.

Its script's handler stays for the dashboard's life: the signal unwinds the app, which leaves the
alternate screen and shows the cursor again (killed by the default action, it left both behind).
"""

from __future__ import annotations

import contextlib
import os
import pty
import signal
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import ENGINE, Engine
from tests.e2e.test_early_signals import installed_script_is_ours
from tests.support import wait_for

LEAVE_ALTERNATE_SCREEN = b"\x1b[?1049l"


class Terminal:
    """What the dashboard wrote to its pseudo-terminal so far."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.data = b""

    def read(self) -> bytes:
        with contextlib.suppress(OSError):  # the other side is closed: all of it was read
            self.data += os.read(self.fd, 1 << 16)
        return self.data


@pytest.mark.skipif(
    not installed_script_is_ours(), reason="this venv's commands predate scripts/: pip install -e ."
)
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["TERM", "HUP"])
def test_a_stop_signal_ends_the_dashboard_and_restores_the_terminal(
    engine: Engine, signum: int
) -> None:
    assert engine.run_plan([{"id": "one", "command": "true"}]).returncode == 0
    main, child = pty.openpty()
    os.set_blocking(main, False)
    proc = subprocess.Popen(
        [str(Path(ENGINE).with_name("ledger-tui"))], cwd=engine.tmp_path,
        env={**engine.env(), "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"},
        stdin=child, stdout=child, stderr=child, start_new_session=True,
    )  # fmt: skip
    os.close(child)
    terminal = Terminal(main)
    try:
        wait_for(lambda: engine.last_run().id.encode() in terminal.read(), timeout=30)
        proc.send_signal(signum)
        # Read while it exits: a dashboard whose screen output fills an unread pty blocks writing.
        wait_for(lambda: terminal.read() is not None and proc.poll() is not None, timeout=30)
        assert proc.returncode == 128 + signum
        wait_for(lambda: LEAVE_ALTERNATE_SCREEN in terminal.read(), timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(main)
