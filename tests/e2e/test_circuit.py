"""Circuit breakers across runs: open after N failures, fail fast, one trial after open_for."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Engine
from tests.support import wait_for


def flaky(engine: Engine, circuit: dict[str, Any], name: str = "api") -> Path:
    """A plan whose step fails until `ok` exists; every start leaves a line in `starts`."""
    ok, starts = engine.tmp_path / "ok", engine.tmp_path / "starts"
    script = f'echo started >> "{starts}"; test -e "{ok}"'
    step = {"id": "call", "command": "sh", "args": ["-c", script], "circuit": circuit}
    return engine.plan([step], name=name)


def starts(engine: Engine) -> int:
    path = engine.tmp_path / "starts"
    return len(path.read_text().splitlines()) if path.exists() else 0


def last_error(engine: Engine) -> str | None:
    return engine.attempts("call")[-1].error_code


def test_an_open_circuit_fails_fast_in_every_plan_sharing_its_key(engine: Engine) -> None:
    circuit = {"failures": 2, "within": "10m", "open_for": "1h", "key": "payments"}
    first, other = flaky(engine, circuit), flaky(engine, circuit, name="refunds")
    assert [engine.run("run", first).returncode for _ in range(2)] == [1, 1]
    assert starts(engine) == 2
    (engine.tmp_path / "ok").touch()  # the service is back, but the circuit does not know yet
    for plan in (first, other):
        result = engine.run("run", plan)
        assert result.returncode == 1
        assert last_error(engine) == "circuit_open"
    assert starts(engine) == 2  # failed fast: nothing was started
    attempt = engine.attempts("call")[-1]
    assert attempt.message is not None
    assert attempt.message.startswith('circuit "payments" is open (2 failures within 10m')
    shown = engine.run("show", engine.last_run().id)
    assert 'circuit   call: circuit "payments" is open (2 failures within 10m' in shown.stdout


def test_after_open_for_one_trial_decides(engine: Engine) -> None:
    plan = flaky(engine, {"failures": 2, "within": "10m", "open_for": "5s"})

    def past_open_for() -> None:
        finished = engine.attempts("call")[-1].finished_at
        assert finished is not None
        wait_for(lambda: time.time() > finished + 5.2, timeout=30)

    assert [engine.run("run", plan).returncode for _ in range(2)] == [1, 1]
    past_open_for()
    assert engine.run("run", plan).returncode == 1  # the trial ran, and failed: open again
    assert (starts(engine), last_error(engine)) == (3, "exit_nonzero")
    assert engine.run("run", plan).returncode == 1
    assert (starts(engine), last_error(engine)) == (3, "circuit_open")
    past_open_for()
    (engine.tmp_path / "ok").touch()
    assert engine.run("run", plan).returncode == 0  # the trial succeeded: closed
    (engine.tmp_path / "ok").unlink()
    # Closed again: failures before the success no longer count.
    assert engine.run("run", plan).returncode == 1
    assert (starts(engine), last_error(engine)) == (5, "exit_nonzero")
    assert engine.run("run", plan).returncode == 1
    assert (starts(engine), last_error(engine)) == (6, "exit_nonzero")
    assert engine.run("run", plan).returncode == 1
    assert (starts(engine), last_error(engine)) == (6, "circuit_open")


def test_a_key_with_a_variable_is_one_circuit_per_value(engine: Engine) -> None:
    # The key was kept as written: prod's failures opened dev's circuit too.
    circuit = {"failures": 1, "within": "10m", "open_for": "1h", "key": "api-${ENV}"}
    step = {"id": "call", "command": "false", "circuit": circuit}
    plan = engine.plan([step], vars={"ENV": "prod"})
    assert engine.run("run", plan).returncode == 1
    prod = engine.last_run().id
    assert engine.run("run", plan, "--var", "ENV=dev").returncode == 1
    dev = engine.last_run().id
    assert last_error(engine) == "exit_nonzero"  # dev ran: its circuit was closed
    assert 'circuit   call: circuit "api-dev" is open' in engine.run("show", dev).stdout
    assert 'circuit   call: circuit "api-prod" is open' in engine.run("show", prod).stdout
    assert engine.run("run", plan).returncode == 1
    assert last_error(engine) == "circuit_open"


def test_show_gives_each_expansion_of_a_matrix_step_its_circuit(engine: Engine) -> None:
    # A matrix step without a key has one circuit per expansion; show said "t: closed".
    circuit = {"failures": 1, "within": "10m", "open_for": "1h"}
    step = {"id": "t", "matrix": {"n": [1, 2]}, "command": "false", "circuit": circuit}
    plan = engine.plan([{**step, "on_failure": "continue"}], name="cm")
    assert engine.run("run", plan).returncode == 1
    shown = engine.run("show", engine.last_run().id).stdout
    for expansion in ("t[n=1]", "t[n=2]"):
        assert f'circuit   {expansion}: circuit "cm/{expansion}" is open' in shown, shown


def test_a_half_open_circuit_lets_one_of_the_steps_sharing_it_through(engine: Engine) -> None:
    # Four expansions sharing a key checked the half-open circuit at once, and all four ran as
    # its trial: the herd that half-open is there to hold back.
    circuit = {"failures": 1, "within": "10m", "open_for": "1s", "key": "shared"}
    opener = engine.plan([{"id": "call", "command": "false", "circuit": circuit}], name="opener")
    assert engine.run("run", opener).returncode == 1
    finished = engine.attempts("call")[-1].finished_at
    assert finished is not None
    wait_for(lambda: time.time() > finished + 1.2, timeout=30)
    starts = engine.tmp_path / "starts"
    # The trial outlasts the other checks, which wait for it to be filed under the circuit.
    script = f'echo started >> "{starts}"; sleep 3'
    step = {"id": "t", "matrix": {"n": [1, 2, 3, 4]}, "command": "sh", "args": ["-c", script]}
    herd = {**step, "circuit": circuit, "on_failure": "continue"}
    engine.run("run", engine.plan([herd], name="herd", globals={"max_concurrency": 4}))
    assert len(starts.read_text().splitlines()) == 1
    codes = sorted(str(engine.attempts(f"t[n={n}]")[-1].error_code) for n in (1, 2, 3, 4))
    assert codes == ["None", "circuit_open", "circuit_open", "circuit_open"]
    messages = [engine.attempts(f"t[n={n}]")[-1].message or "" for n in (1, 2, 3, 4)]
    assert sum("a trial attempt is running" in message for message in messages) == 3
