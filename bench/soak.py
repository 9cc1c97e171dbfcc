"""Soak: the chaos suite's kill -9 storm at scale, counting each kind of failure (not a test).

Each kill starts `engine run` on a plan with grandchildren, a setsid escaper, a retried step,
outputs and a secret, SIGKILLs it at a random moment of its first 1.5 s, lets `engine runs`
recover it, and checks: no process of the run left (by a unique marker), the run no longer
`running`, rows of ended runs unchanged, `PRAGMA integrity_check` ok, no traceback; at the end,
the secret in no file of the ledger, logs or outputs directories.

    python bench/soak.py --kills 200              # one storm of 200 kills
    python bench/soak.py --minutes 10             # two storms on one ledger, dashboard open
    python bench/soak.py --kills 50 --seed 7      # another sequence of kill moments
"""

from __future__ import annotations

import argparse
import os
import pty
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the storm lives with the tests

from tests.e2e.chaos.storm import FAILURE_KINDS, Storm, processes_with

DASHBOARD = str(Path(sys.executable).with_name("ledger-tui"))


def storm_until(storm: Storm, kills: int | None, deadline: float) -> None:
    while (kills is None or storm.kills < kills) and time.monotonic() < deadline:
        storm.kill_one()


class Dashboard:
    """`ledger-tui` on a pseudo-terminal, reading the ledger the storms write."""

    def __init__(self, ledger: Path, cwd: Path) -> None:
        self._master, slave = pty.openpty()
        env = {**os.environ, "LEDGER_DB": str(ledger), "TERM": "xterm-256color"}
        self.proc = subprocess.Popen(
            [DASHBOARD], stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env,
            start_new_session=True,
        )  # fmt: skip
        os.close(slave)
        self._drain = threading.Thread(target=self._read, daemon=True)
        self._drain.start()

    def _read(self) -> None:
        while True:
            try:
                if not os.read(self._master, 65536):
                    return
            except OSError:
                return

    def close(self) -> bool:
        """Stops it; returns whether it was still running (it must not have died)."""
        alive = self.proc.poll() is None
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._master)
        return alive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, help="kills per storm (default 200 without --minutes)")
    parser.add_argument("--minutes", type=float, help="run two storms and the dashboard this long")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    kills = args.kills if args.kills is not None or args.minutes else 200
    two = args.minutes is not None
    deadline = time.monotonic() + (args.minutes * 60 if two else 10**9)
    work = Path(tempfile.mkdtemp(prefix="engine-soak-"))
    secret = f"soak-secret-{secrets.token_hex(8)}"
    storms = [
        Storm(work, f"300.{secrets.randbelow(10**9):09d}", secret, args.seed + i, f"soak{i}")
        for i in range(2 if two else 1)
    ]
    started = time.monotonic()
    dashboard: Dashboard | None = None
    try:
        if two:
            storms[0].kill_one()  # creates the ledger the dashboard opens
            dashboard = Dashboard(storms[0].ledger, work)
        threads = [
            threading.Thread(target=storm_until, args=(storm, kills, deadline)) for storm in storms
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        dashboard_alive = dashboard.close() if dashboard is not None else True
        tmp = Path(tempfile.gettempdir())
        for storm in storms:
            storm.check_secrets([work, *storm.outputs_dirs(tmp)])
    finally:
        for storm in storms:
            for process in processes_with(storm.marker):
                process.kill()
        shutil.rmtree(work, ignore_errors=True)
    elapsed = time.monotonic() - started
    total = sum(storm.kills for storm in storms)
    mid = sum(storm.kills_mid_step for storm in storms)
    print(f"{total} kills ({mid} with steps running) in {elapsed:.0f} s, {len(storms)} engine(s)")
    failures = {kind: sum(storm.failures[kind] for storm in storms) for kind in FAILURE_KINDS}
    if two:
        failures["dashboard_died"] = 0 if dashboard_alive else 1
    for kind, count in failures.items():
        print(f"  {kind:<16}{count}")
    for storm in storms:
        for note in storm.notes[:20]:
            print(f"  - {note}")
    sys.exit(1 if any(failures.values()) else 0)


if __name__ == "__main__":
    main()
