"""Signal storms at every moment of a run, SIGHUP, and a stdout nobody reads any more.

Each test checks the aftermath the same way: the engine's exit code, no traceback on stderr, the
ledger's integrity, the run's final status, no process of the run alive, and the secret the steps
handle readable nowhere on disk.
"""

from __future__ import annotations

import secrets
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.chaos.conftest import assert_ledger_intact, files_containing
from tests.e2e.conftest import Engine
from tests.support import live_processes_with, wait_for

STORM = 20  # signals ...
STORM_SEC = 0.1  # ... over this long: a held-down Ctrl-C, and faster


class Scene:
    """One `engine run` of a plan whose steps hold a secret and wait for `gate`, or a stop."""

    def __init__(self, engine: Engine, marker: str, *, stubborn: bool = False) -> None:
        self.engine = engine
        self.marker = marker
        self.secret = f"s1gnal-{secrets.token_hex(12)}"
        self.gate = engine.tmp_path / "gate"
        self.tmpdir = engine.tmp_path / "tmp"
        self.tmpdir.mkdir()
        self.termed = engine.tmp_path / "termed"
        # Each holder waits in a grandchild too; the marker names all of them. A stubborn one
        # outlives its TERM (and notes it), so only the KILL after the grace ends it.
        hold = f"sleep {marker} & while [ ! -e '{self.gate}' ]; do sleep 0.02; done; kill $!"
        if stubborn:
            hold = f"trap 'touch {self.termed}' TERM; {hold}"
        self.plan = engine.plan(
            [
                {
                    "id": "secret",
                    "command": 'echo "token $TOKEN"; echo "V=$TOKEN" >> "$ENGINE_OUTPUT"',
                    "shell": True,
                    "secrets": ["TOKEN"],
                    "provides": ["V"],
                },
                *(
                    {"id": f"hold{i}", "command": hold, "shell": True, "depends_on": ["secret"]}
                    for i in range(3)
                ),
                {"id": "after", "command": "true", "depends_on": ["hold0", "hold1", "hold2"]},
            ],
            secrets=["TOKEN"],
            globals={"max_concurrency": 4, "kill_grace_sec": 60 if stubborn else 1},
        )

    def start(self, *args: str) -> subprocess.Popen[str]:
        env = {"TOKEN": self.secret, "TMPDIR": str(self.tmpdir)}
        return self.engine.start("run", self.plan, *args, env=env)

    def holding(self) -> bool:
        """Whether the three holders run (their attempts committed, their processes up)."""
        try:
            running = [a for a in self.engine.attempts() if a.status == "running"]
        except Exception:
            return False  # no ledger or no run yet
        return len(running) == 3 and len(live_processes_with(self.marker)) >= 3

    def aftermath(self, proc: subprocess.Popen[str], expected: set[tuple[str | None, int]]) -> None:
        """The process ended with one of `expected` (run status or None for no run, exit code)."""
        _, stderr = proc.communicate(timeout=60)
        assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
        runs = self.engine.runs() if self.engine.ledger_path.exists() else []
        assert len(runs) <= 1
        status = str(runs[0].status) if runs else None
        assert (status, proc.returncode) in expected, (status, proc.returncode, stderr)
        if runs:
            assert runs[0].exit_code == proc.returncode
        if self.engine.ledger_path.exists():
            assert_ledger_intact(self.engine.ledger_path)
        wait_for(lambda: not live_processes_with(self.marker), timeout=15)
        # The ledger, the logs, the scratch dirs, TMPDIR: all of them are under tmp_path.
        assert files_containing(self.secret, [self.engine.tmp_path]) == []


def storm(proc: subprocess.Popen[str], signum: int) -> None:
    for _ in range(STORM):
        if proc.poll() is not None:
            return
        proc.send_signal(signum)
        time.sleep(STORM_SEC / STORM)


def catches(pid: int, *signums: int) -> bool:
    """Whether process `pid` handles each of `signums` (SigCgt of /proc/PID/status)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return False
    caught = next(int(line.split()[1], 16) for line in lines if line.startswith("SigCgt"))
    return all(caught >> (signum - 1) & 1 for signum in signums)


CANCELED_BY_SIGINT = {("canceled", 130)}


def test_sigint_storm_during_start_up(engine: Engine, marker: str) -> None:
    scene = Scene(engine, marker)
    proc = scene.start()
    # The engine's own handlers are in (Python alone catches no SIGHUP): it is importing.
    wait_for(lambda: catches(proc.pid, signal.SIGHUP), timeout=30)
    storm(proc, signal.SIGINT)
    scene.aftermath(proc, {(None, 130), *CANCELED_BY_SIGINT})


def test_sigint_storm_while_steps_run(engine: Engine, marker: str) -> None:
    scene = Scene(engine, marker)
    proc = scene.start()
    wait_for(scene.holding, timeout=30)
    storm(proc, signal.SIGINT)
    scene.aftermath(proc, CANCELED_BY_SIGINT)
    assert engine.statuses()["after"] == "skipped"


def test_sigint_storm_while_the_run_finishes(engine: Engine, marker: str) -> None:
    scene = Scene(engine, marker)
    proc = scene.start()
    wait_for(scene.holding, timeout=30)
    scene.gate.touch()  # the holders end now; the storm meets the end of the run, or shutdown
    wait_for(lambda: not live_processes_with(marker), timeout=30)
    storm(proc, signal.SIGINT)
    scene.aftermath(proc, {("succeeded", 0), *CANCELED_BY_SIGINT})


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_a_storm_of_other_stop_signals(engine: Engine, marker: str, signum: int, code: int) -> None:
    scene = Scene(engine, marker)
    proc = scene.start()
    wait_for(scene.holding, timeout=30)
    storm(proc, signum)
    scene.aftermath(proc, {("canceled", code)})


def test_sighup_cancels_gracefully_then_a_sigint_kills(engine: Engine, marker: str) -> None:
    """A dropped SSH session (SIGHUP), then an impatient Ctrl-C: the first signal names the exit."""
    scene = Scene(engine, marker, stubborn=True)
    proc = scene.start()
    wait_for(scene.holding, timeout=30)
    proc.send_signal(signal.SIGHUP)
    wait_for(scene.termed.exists, timeout=30)  # the graceful stop is under way: 60 s of grace
    assert proc.poll() is None
    proc.send_signal(signal.SIGINT)
    started = time.monotonic()
    scene.aftermath(proc, {("canceled", 129)})
    assert time.monotonic() - started < 30  # killed, not the 60 s grace
    assert engine.last_run().error == "canceled by SIGHUP"


@pytest.mark.parametrize("args", [(), ("--json",)], ids=["plain", "json"])
def test_a_closed_stdout_lets_the_run_finish(
    engine: Engine, marker: str, args: tuple[str, ...]
) -> None:
    scene = Scene(engine, marker)
    proc = scene.start(*args)
    assert proc.stdout is not None
    assert proc.stdout.readline()  # `| head -1`
    proc.stdout.close()
    wait_for(scene.holding, timeout=30)
    scene.gate.touch()
    scene.aftermath(proc, {("succeeded", 0)})


def test_a_closed_stdout_then_a_sigint_storm(engine: Engine, marker: str) -> None:
    scene = Scene(engine, marker)
    proc = scene.start("--json")
    assert proc.stdout is not None
    assert proc.stdout.readline()
    proc.stdout.close()
    wait_for(scene.holding, timeout=30)
    storm(proc, signal.SIGINT)
    scene.aftermath(proc, CANCELED_BY_SIGINT)
