"""Run detail against a real `engine run`: the log is always the cursor's step's, the status line
says what is true, any attempt's log opens, and a cancel is refused or reported truthfully."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Log, Static

from engine.ledger.reader import LedgerReader
from engine.states import StepStatus
from ledger_tui.app import LedgerApp
from ledger_tui.screens.confirm import ConfirmScreen
from ledger_tui.screens.run_detail import RunDetailScreen
from ledger_tui.widgets.live_table import LiveTable
from ledger_tui.widgets.log_pane import LogPane
from tests.tui.conftest import make_app, until_loaded, wait_for, whole_polls

ENGINE = Path(sys.executable).parent / "engine"

pytestmark = pytest.mark.slow


def _gate_loop(gate: Path, body: str) -> str:
    """Run `body` every 20 ms until `gate` exists (bounded: 60 s), then exit 0."""
    return f"for i in $(seq 3000); do [ -e {gate} ] && exit 0; {body}; sleep 0.02; done; exit 1"


def write_plan(tmp_path: Path, gate: Path) -> Path:
    flaky_marker = tmp_path / "flaky-failed-once"
    flaky = (
        f'if [ -e {flaky_marker} ]; then echo "second try"; {_gate_loop(gate, "true")}; fi; '
        f'touch {flaky_marker}; echo "first try failed"; exit 1'
    )
    plan = {
        "name": "trust",
        "globals": {"kill_grace_sec": 1},
        "steps": [
            {"id": "quick", "command": "sh", "args": ["-c", "echo quick output"]},
            {"id": "broken", "command": "sh", "args": ["-c", "echo broken output; exit 3"],
             "on_failure": "continue"},
            {"id": "long-log", "command": "sh",
             "args": ["-c", _gate_loop(gate, 'echo "long-log line $i"')]},
            {"id": "flaky", "command": "sh", "args": ["-c", flaky],
             "retry": {"max_attempts": 2, "delay_sec": 0}},
            {"id": "never", "command": "true", "condition": "vars.NOPE == 'yes'",
             "depends_on": ["quick"]},
            {"id": "last", "command": "true", "depends_on": ["long-log", "flaky"]},
        ],
        "vars": {"NOPE": "no"},
    }  # fmt: skip
    path = tmp_path / "trust.json"
    path.write_text(json.dumps(plan), encoding="utf-8")
    return path


class LiveRun:
    """A real engine running the plan above until the test opens the gate."""

    def __init__(self, ledger: Path, tmp_path: Path) -> None:
        self.gate = tmp_path / "gate"
        self.ledger = ledger
        self.process = subprocess.Popen(
            [
                str(ENGINE),
                "run",
                str(write_plan(tmp_path, self.gate)),
                "-q",
                "--ledger",
                str(ledger),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, "LEDGER_DB": ""},
        )
        self.run_id = ""

    def steps(self) -> dict[str, StepStatus]:
        if not self.ledger.exists():
            return {}
        with LedgerReader.open(self.ledger) as reader:
            runs = reader.active_runs()
            if not runs:
                return {}
            self.run_id = runs[0].id
            return {s.step_id: s.status for s in reader.run_steps(self.run_id)}

    def settled(self) -> bool:
        """quick, broken and never have ended; long-log and flaky's second attempt run."""
        steps = self.steps()
        return (
            steps.get("quick") is StepStatus.SUCCEEDED
            and steps.get("broken") is StepStatus.FAILED
            and steps.get("never") is StepStatus.SKIPPED
            and steps.get("long-log") is StepStatus.RUNNING
            and steps.get("flaky") is StepStatus.RUNNING
        )

    def close(self) -> None:
        self.gate.touch()
        try:
            self.process.wait(timeout=60)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def live(ledger: Path, tmp_path: Path) -> Iterator[LiveRun]:
    run = LiveRun(ledger, tmp_path)
    try:
        wait_for_sync(run.settled)
        yield run
    finally:
        run.close()


def wait_for_sync(condition: Any, timeout: float = 60.0) -> None:
    from tests.support import wait_for as wait_sync

    wait_sync(condition, timeout=timeout)


async def open_live(pilot: Pilot[None], live: LiveRun) -> RunDetailScreen:
    app = pilot.app
    assert isinstance(app, LedgerApp)
    await until_loaded(pilot)
    app.open_run(live.run_id)
    await until_loaded(pilot)
    screen = app.screen
    assert isinstance(screen, RunDetailScreen)
    return screen


def pane_step(screen: RunDetailScreen) -> str:
    return screen.query_one(LogPane).title.split(" ")[0]


def cursor_step(screen: RunDetailScreen) -> str | None:
    return screen.query_one("#steps-table", LiveTable).selected_key


def status_line(screen: RunDetailScreen) -> str:
    return str(screen.query_one("#log-status", Static).render())


def log_text(screen: RunDetailScreen) -> str:
    return "\n".join(screen.query_one(Log).lines)


OWN_LINE = {"quick": "quick output", "broken": "broken output", "long-log": "long-log line"}


def log_matches_cursor(screen: RunDetailScreen) -> bool:
    step = cursor_step(screen)
    if step is None or pane_step(screen) != step:
        return False
    own = OWN_LINE.get(step)
    return own is None or own in log_text(screen)


async def test_log_always_belongs_to_the_cursor_while_keys_race_a_live_run(
    ledger: Path, tmp_path: Path, live: LiveRun
) -> None:
    app = make_app(ledger, clock=None)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_live(pilot, live)
        for _ in range(6):
            await pilot.press("home", "down", "down", "enter", "down")
            await pilot.press("up", "up", "up")
            await wait_for(pilot, lambda: log_matches_cursor(screen))
            # ... and stays so: no late result for another step writes over it.
            await whole_polls(pilot, 3)
            assert log_matches_cursor(screen), (cursor_step(screen), pane_step(screen))


async def test_an_outdated_result_is_dropped_not_shown(
    ledger: Path, tmp_path: Path, live: LiveRun
) -> None:
    """The race made deterministic: a result read before the cursor moved arrives after."""
    app = make_app(ledger, clock=None)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_live(pilot, live)
        table = screen.query_one("#steps-table", LiveTable)
        table.select_key("long-log")
        await wait_for(pilot, lambda: log_matches_cursor(screen) and screen._payload is not None)
        outdated = screen._payload  # read for long-log
        assert outdated is not None
        await pilot.press("up")  # broken
        await wait_for(pilot, lambda: log_matches_cursor(screen))
        screen.apply(outdated)  # long-log's result, late
        assert pane_step(screen) == "broken"
        await pilot.press("down")  # back to long-log: its log must be asked for again
        await wait_for(pilot, lambda: log_matches_cursor(screen))
        await whole_polls(pilot, 2)
        assert cursor_step(screen) == "long-log" and log_matches_cursor(screen)


async def test_status_line_says_how_each_attempt_ended(
    ledger: Path, tmp_path: Path, live: LiveRun
) -> None:
    app = make_app(ledger, clock=None)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_live(pilot, live)
        table = screen.query_one("#steps-table", LiveTable)
        expected = {
            "quick": "finished: succeeded (exit 0)",
            "broken": "failed: exit 3",
            "never": "skipped: ",
            "long-log": "following",
            "last": "not started yet: waiting for its dependencies",
        }
        for step, words in expected.items():
            table.select_key(step)

            def says(step: str = step, words: str = words) -> bool:
                return status_line(screen).startswith(step) and words in status_line(screen)

            try:
                await wait_for(pilot, says, timeout=20)
            except AssertionError:
                raise AssertionError(f"{step}: {status_line(screen)!r}") from None
            if step != "long-log":
                assert "following" not in status_line(screen)


async def test_any_attempt_opens_and_reason_is_cleared_while_the_retry_runs(
    ledger: Path, tmp_path: Path, live: LiveRun
) -> None:
    app = make_app(ledger, clock=None)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_live(pilot, live)
        table = screen.query_one("#steps-table", LiveTable)
        table.select_key("flaky")
        await wait_for(pilot, lambda: "second try" in log_text(screen))
        assert "flaky attempt 2 of 2" in status_line(screen)
        reason = table.get_row("flaky")[-1]
        assert str(reason) == ""  # attempt 1's "exit code 1" is not why it is running now
        await pilot.press("a")
        await wait_for(pilot, lambda: "first try failed" in log_text(screen))
        assert "second try" not in log_text(screen)
        assert "flaky attempt 1 of 2" in status_line(screen) and "failed: exit 1" in status_line(
            screen
        )
        await pilot.press("a")  # from the first, back to the latest
        await wait_for(pilot, lambda: "second try" in log_text(screen))


async def test_cancel_is_refused_for_a_finished_step_and_reported_for_a_running_one(
    ledger: Path, tmp_path: Path, live: LiveRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(ledger, clock=None)
    notes: list[str] = []
    notify = app.notify

    def noting(message: str, **options: Any) -> None:
        notes.append(message)
        notify(message, **options)

    monkeypatch.setattr(app, "notify", noting)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_live(pilot, live)
        table = screen.query_one("#steps-table", LiveTable)
        for finished in ("quick", "never"):
            table.select_key(finished)
            await wait_for(pilot, lambda f=finished: cursor_step(screen) == f)  # type: ignore[misc]
            await pilot.press("x")
            await wait_for(
                pilot, lambda f=finished: any(f"Step {f} already finished" in n for n in notes)
            )  # type: ignore[misc]
            assert isinstance(app.screen, RunDetailScreen)  # no confirmation was offered
        with LedgerReader.open(ledger) as reader:
            assert "cancel_requested" not in [e.type for e in reader.events(run_id=live.run_id)]

        table.select_key("long-log")
        await wait_for(pilot, lambda: cursor_step(screen) == "long-log")
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: "Step long-log was canceled." in notes)
        header = screen.query_one("#run-header", Static)
        await wait_for(pilot, lambda: "1 failed, 1 canceled" in str(header.render()))
        await wait_for(pilot, lambda: "long-log" in status_line(screen))
        await wait_for(pilot, lambda: "canceled" in status_line(screen))


async def test_owner_gone_shows_within_seconds_though_the_ledger_is_quiet(
    ledger: Path, tmp_path: Path, live: LiveRun
) -> None:
    app = make_app(ledger, clock=None)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_live(pilot, live)
        screen.query_one("#steps-table", LiveTable).select_key("quick")  # a finished log
        await wait_for(pilot, lambda: "quick output" in log_text(screen))
        await whole_polls(pilot, 2)
        live.process.send_signal(signal.SIGKILL)
        live.process.wait(timeout=30)
        header = screen.query_one("#run-header", Static)
        # The engine's steps outlive it (in their own sessions) until the gate opens; nothing
        # more reaches the ledger, so only the periodic owner check can tell.
        await wait_for(pilot, lambda: "owner gone" in str(header.render()), timeout=15)
