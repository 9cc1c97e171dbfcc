"""Whole-process helpers: write a plan, run `engine` as a real subprocess, read its ledger.

Every test gets its own ledger under `tmp_path/ledger` (through `LEDGER_DB`), so the database, its
-wal file and the step logs all live in one directory a test can inspect.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

from engine.errors import LedgerError
from engine.ledger.reader import LedgerReader
from engine.ledger.records import Attempt, RunSummary, StepState
from tests.support import live_processes_with

ENGINE = str(Path(sys.executable).with_name("engine"))
# Variables of the developer's shell that would change what the engine prints or where it writes.
_SCRUBBED = ("LEDGER_DB", "FORCE_COLOR", "CLICOLOR_FORCE", "COLUMNS")


@dataclass
class Result:
    """A finished `engine` process."""

    returncode: int
    stdout: str
    stderr: str


class Engine:
    """Runs `engine` subprocesses against one ledger in a test's tmp_path and reads that ledger."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.ledger_dir = tmp_path / "ledger"
        self.ledger_path = self.ledger_dir / "framework.db"
        self._procs: list[subprocess.Popen[str]] = []
        self._plans = 0

    # -- plans and processes -------------------------------------------------------------------

    def plan(self, steps: Sequence[Mapping[str, Any]], **top: Any) -> Path:
        """Write a plan with these steps (and top-level fields) to tmp_path; return its path."""
        self._plans += 1
        document = {"name": top.pop("name", f"plan{self._plans}"), **top, "steps": list(steps)}
        path = self.tmp_path / f"plan{self._plans}.json"
        path.write_text(json.dumps(document, indent=2))
        return path

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
        env["LEDGER_DB"] = str(self.ledger_path)
        env["NO_COLOR"] = "1"
        # As pyproject's filterwarnings in-process: sqlite3's placeholder warning (3.12+) fails.
        env.setdefault("PYTHONWARNINGS", "error:Binding:DeprecationWarning")
        env.update(extra or {})
        return env

    def start(
        self, *args: str | Path, env: Mapping[str, str] | None = None, **popen: Any
    ) -> subprocess.Popen[str]:
        """Start `engine ARGS...` in tmp_path; stdout and stderr are captured as text."""
        proc = subprocess.Popen(
            [ENGINE, *map(str, args)],
            cwd=self.tmp_path,
            env=self.env(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            **popen,
        )
        self._procs.append(proc)
        return proc

    def run(
        self, *args: str | Path, env: Mapping[str, str] | None = None, timeout: float = 60.0
    ) -> Result:
        """Run `engine ARGS...` to its end."""
        proc = self.start(*args, env=env)
        stdout, stderr = proc.communicate(timeout=timeout)
        return Result(proc.returncode, stdout, stderr)

    def run_plan(
        self,
        steps: Sequence[Mapping[str, Any]],
        *args: str,
        env: Mapping[str, str] | None = None,
        timeout: float = 60.0,
        **top: Any,
    ) -> Result:
        return self.run("run", self.plan(steps, **top), *args, env=env, timeout=timeout)

    def close(self) -> None:
        for proc in self._procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()

    # -- the ledger ----------------------------------------------------------------------------

    def reader(self) -> LedgerReader:
        return LedgerReader.open(self.ledger_path)

    def runs(self) -> list[RunSummary]:
        """The runs in the ledger, newest first; none while the engine has not yet created it."""
        try:
            with self.reader() as reader:
                return reader.list_runs(limit=1000)
        except LedgerError as error:
            if "no ledger" in error.message or "not initialised" in error.message:
                return []
            raise

    def last_run(self) -> RunSummary:
        runs = self.runs()
        assert runs, "no run in the ledger"
        return runs[0]

    def steps(self, run_id: str | None = None) -> dict[str, StepState]:
        with self.reader() as reader:
            run_id = run_id or reader.list_runs(limit=1)[0].id
            return {s.step_id: s for s in reader.run_steps(run_id)}

    def statuses(self, run_id: str | None = None) -> dict[str, str]:
        return {sid: str(s.status) for sid, s in self.steps(run_id).items()}

    def attempts(self, step_id: str | None = None, run_id: str | None = None) -> list[Attempt]:
        with self.reader() as reader:
            run_id = run_id or reader.list_runs(limit=1)[0].id
            return reader.attempts(run_id, step_id)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    runner = Engine(tmp_path)
    yield runner
    runner.close()


@pytest.fixture
def marker() -> Iterator[str]:
    """A unique `sleep` duration (about 5 minutes) naming this test's step processes.

    Whatever still runs with it at teardown is killed by pid, so a failing test leaves nothing.
    """
    value = f"300.{secrets.randbelow(10**9):09d}"
    yield value
    for proc in live_processes_with(value):
        with contextlib.suppress(psutil.Error):
            proc.send_signal(signal.SIGKILL)
