"""A kill -9 storm: start `engine run`, SIGKILL it at a random moment, recover, check, again.

Shared by tests/e2e/chaos/test_processes.py (a small storm that must come out clean) and
bench/soak.py (the same storm at scale, counting each kind of failure).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import psutil

ENGINE = str(Path(sys.executable).with_name("engine"))
FAILURE_KINDS = (
    "survivors", "tracebacks", "lost_rows", "integrity", "wrong_status", "secrets",
    "unexpected_exit",
)  # fmt: skip


def storm_plan(marker: str, name: str = "storm") -> dict[str, object]:
    """Grandchildren, a setsid escaper, a retried step, outputs feeding a dependent, a secret."""
    hold = f"sleep {marker} & sleep {marker}; wait"
    return {
        "name": name,
        "globals": {"max_concurrency": 4},
        "secrets": ["TOKEN"],
        "steps": [
            {"id": "out", "shell": True, "secrets": ["TOKEN"], "provides": ["V"],
             "command": 'echo "token $TOKEN"; echo "V=1" >> "$ENGINE_OUTPUT"'},
            {"id": "flaky", "shell": True, "command": '[ "$ENGINE_ATTEMPT" -ge 3 ]',
             "retry": {"max_attempts": 3, "delay_sec": 0}},
            {"id": "hold", "shell": True, "command": hold},
            {"id": "escape", "shell": True, "command": f"setsid sleep {marker} & {hold}"},
            {"id": "fed", "shell": True, "depends_on": ["out", "flaky"],
             "command": f"echo ${{steps.out.outputs.V}}; {hold}"},
        ],
    }  # fmt: skip


class Storm:
    """Kills engines running `storm_plan` against one ledger and counts what went wrong."""

    def __init__(
        self, workdir: Path, marker: str, secret: str, seed: int = 0, name: str = "storm"
    ) -> None:
        """Storms sharing `workdir` share its ledger; give each its own `name` and `marker`."""
        self.workdir = workdir
        self.name = name
        self.marker = marker
        self.secret = secret
        self.ledger = workdir / "ledger" / "framework.db"
        self.plan = workdir / f"{name}.json"
        self.plan.write_text(json.dumps(storm_plan(marker, name)))
        self.rng = random.Random(seed)
        self.failures: Counter[str] = Counter()
        self.notes: list[str] = []
        self.kills = 0
        self.kills_mid_step = 0  # kills that left step processes behind for recovery
        self._finished: dict[str, tuple[str, int]] = {}  # run id -> (status, attempts) once ended

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "COLUMNS")}
        return {**env, "LEDGER_DB": str(self.ledger), "TOKEN": self.secret, "NO_COLOR": "1"}

    def start(self) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [ENGINE, "run", str(self.plan), "--quiet"], cwd=self.workdir, env=self.env(),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

    def kill_one(self, latest_sec: float = 1.5) -> None:
        """One engine SIGKILLed, then recovered.

        Every other kill comes at a random moment of the engine's first `latest_sec` (start-up
        included); the others just after its first step process appeared, when more steps are
        being spawned and their attempt rows may not be committed yet.
        """
        proc = self.start()
        if self.kills % 2:
            deadline = time.monotonic() + 30
            while not processes_with(self.marker) and time.monotonic() < deadline:
                if proc.poll() is not None:
                    break
            delay = self.rng.uniform(0.0, 0.05)
        else:
            delay = self.rng.uniform(0.0, latest_sec)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=delay)  # the random moment of the kill
        proc.send_signal(signal.SIGKILL)
        _, stderr = proc.communicate(timeout=60)
        self.kills += 1
        if processes_with(self.marker):
            self.kills_mid_step += 1
        if proc.returncode != -signal.SIGKILL:
            self._fail("unexpected_exit", f"engine run exited {proc.returncode}: {stderr}")
        self._check(stderr)
        self.recover_and_check()

    def recover_and_check(self) -> None:
        """Any command recovers the crashed run; then nothing may be left, lost or broken."""
        listed = subprocess.run(
            [ENGINE, "runs", "--json", "--limit", "1000"], cwd=self.workdir, env=self.env(),
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        self._check(listed.stderr)
        if listed.returncode == 3 and "no ledger" in listed.stderr:
            runs: list[dict[str, object]] = []  # killed before the ledger existed
        elif listed.returncode == 3 and "not initialised" in listed.stderr:
            runs = []  # killed while it created the schema
        elif listed.returncode != 0:
            self._fail("tracebacks", f"engine runs exited {listed.returncode}: {listed.stderr}")
            return
        else:
            runs = json.loads(listed.stdout)
        for run in runs:
            if run["plan_name"] == self.name and run["status"] in ("running", "pending"):
                self._fail("wrong_status", f"run {run['id']} still {run['status']}")
        self._check_survivors()
        if self.ledger.exists():
            self._check_ledger()

    def _check(self, stderr: str) -> None:
        if "Traceback" in stderr:
            self._fail("tracebacks", stderr[-2000:])

    def _check_survivors(self) -> None:
        deadline = time.monotonic() + 15
        survivors = processes_with(self.marker)
        while survivors and time.monotonic() < deadline:
            time.sleep(0.05)
            survivors = processes_with(self.marker)
        if survivors:
            self._fail("survivors", f"{len(survivors)} process(es) outlived recovery")
            for process in survivors:
                with contextlib.suppress(psutil.Error):
                    process.kill()

    def _check_ledger(self) -> None:
        connection = sqlite3.connect(f"file:{self.ledger}?mode=ro", uri=True, timeout=30)
        try:
            if connection.execute("PRAGMA integrity_check").fetchall() != [("ok",)]:
                self._fail("integrity", "PRAGMA integrity_check failed")
            tables = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if "step_attempts" not in {name for (name,) in tables}:
                return  # killed while it created the schema (in one transaction): nothing lost
            rows = connection.execute(
                "SELECT r.id, r.status,"
                " (SELECT count(*) FROM step_attempts a WHERE a.run_id = r.id), r.plan_name"
                " FROM runs r"
            ).fetchall()
        finally:
            connection.close()
        now = {
            run_id: (status, attempts)
            for run_id, status, attempts, name in rows
            if name == self.name
        }
        for run_id, before in self._finished.items():
            if now.get(run_id) != before:
                self._fail("lost_rows", f"run {run_id} was {before}, now {now.get(run_id)}")
        self._finished.update({k: v for k, v in now.items() if v[0] not in ("running", "pending")})

    def outputs_dirs(self, tmp: Path) -> list[Path]:
        """The `$ENGINE_OUTPUT` directories of this storm's runs that a kill -9 left behind."""
        return [p for run_id in self._finished for p in tmp.glob(f"engine-{run_id}-*")]

    def check_secrets(self, roots: Iterable[Path]) -> None:
        """The secret is readable in no file under `roots` (logs, ledger, outputs)."""
        needle = self.secret.encode()
        for root in roots:
            for directory, _, names in os.walk(root):
                for name in names:
                    with contextlib.suppress(OSError):
                        if needle in Path(directory, name).read_bytes():
                            self._fail("secrets", f"secret in {Path(directory, name)}")

    def _fail(self, kind: str, note: str) -> None:
        self.failures[kind] += 1
        self.notes.append(f"{kind}: {note}")


def processes_with(marker: str) -> list[psutil.Process]:
    """Live (not zombie) processes whose command line contains `marker`."""
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        with contextlib.suppress(psutil.Error):
            cmdline = proc.info["cmdline"] or []
            if proc.info["status"] != psutil.STATUS_ZOMBIE and any(marker in a for a in cmdline):
                found.append(proc)
    return found
