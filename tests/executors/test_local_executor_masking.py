"""LocalExecutor with secrets: the raw values never reach the log file or the tail."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from engine.executors.attempt import DRAIN_TIMEOUT_SEC
from engine.executors.local import LocalExecutor
from tests.executors.processes import SpecFactory
from tests.support import live_processes_with

PY = sys.executable


async def test_secret_printed_in_pieces_is_masked(
    executor: LocalExecutor, make_spec: SpecFactory
) -> None:
    script = "printf 'pw=hun'; sleep 0.05; printf 'ter2'; sleep 0.05; printf ' end\\n'"
    spec = make_spec("sh", "-c", script, mask_values=("hunter2",))
    result = await (await executor.launch(spec)).wait()
    assert result.exit_code == 0
    assert spec.log_path.read_text() == "pw=*** end\n"
    assert result.output_tail == "pw=*** end\n"


async def test_repeated_and_overlapping_secrets(
    executor: LocalExecutor, make_spec: SpecFactory
) -> None:
    script = "echo hunter2 hunter2hunter2; echo abcd; echo s3cr3t-longer; echo tail-hunter2 >&2"
    spec = make_spec("sh", "-c", script, mask_values=("hunter2", "abc", "bcd", "s3cr3t", ""))
    result = await (await executor.launch(spec)).wait()
    log = spec.log_path.read_text()
    assert log == "*** ******\n***\n***-longer\ntail-***\n"
    assert result.output_tail == log
    for raw in ("hunter2", "abc", "bcd", "s3cr3t"):
        assert raw not in log


async def test_large_output_with_scattered_secrets(
    executor: LocalExecutor, make_spec: SpecFactory
) -> None:
    # 20 MB in odd-sized writes, so secrets straddle pipe reads at many offsets.
    code = (
        "import sys, os\n"
        "chunk = (b'x' * 997 + b'TOPSECRET') * 7\n"
        "for _ in range(20 * 1024 * 1024 // len(chunk)): os.write(1, chunk)\n"
    )
    spec = make_spec(PY, "-c", code, mask_values=("TOPSECRET",))
    result = await (await executor.launch(spec)).wait()
    assert result.exit_code == 0
    data = spec.log_path.read_bytes()
    assert b"TOPSECRET" not in data
    assert b"SECRET" not in data and b"TOPSEC" not in data
    assert data.count(b"***") == data.count(b"x" * 997)
    assert "TOPSECRET" not in result.output_tail


async def test_a_spawn_error_keeps_the_path_it_names_whole(
    executor: LocalExecutor, make_spec: SpecFactory, tmp_path: Path
) -> None:
    # The sentence quotes only the plan's command and the engine's paths: a secret that happens to
    # be part of a path must not turn it into a path that does not exist.
    missing = tmp_path / "home" / "newcomer" / "gone"
    spec = make_spec("true", cwd=str(missing), mask_values=("newcomer",))
    result = await (await executor.launch(spec)).wait()
    assert result.spawn_error == f"working directory does not exist: {missing}"
    assert spec.log_path.read_text() == f"{result.spawn_error}\n"


async def test_background_child_holding_the_pipe_is_killed_quickly(
    executor: LocalExecutor, make_spec: SpecFactory, sleep_arg: str
) -> None:
    spec = make_spec("sh", "-c", f"sleep {sleep_arg} & echo hunter2", mask_values=("hunter2",))
    started = time.monotonic()
    result = await (await executor.launch(spec)).wait()
    assert time.monotonic() - started < DRAIN_TIMEOUT_SEC  # killed, not drained until given up
    assert result.output_tail == "***\n"
    assert live_processes_with(sleep_arg) == []


async def test_escaped_process_holding_the_pipe_does_not_hang_the_attempt(
    executor: LocalExecutor, make_spec: SpecFactory, sleep_arg: str, tmp_path: Path
) -> None:
    # setsid leaves the process group, so the group kill cannot reach it; draining gives up instead.
    escaped = tmp_path / "escaped"
    script = (
        f"setsid sh -c 'touch {escaped}; exec sleep {sleep_arg}' & "
        f"while [ ! -e {escaped} ]; do sleep 0.01; done; echo hunter2 done"
    )
    spec = make_spec("sh", "-c", script, mask_values=("hunter2",))
    started = time.monotonic()
    result = await (await executor.launch(spec)).wait()
    assert time.monotonic() - started < DRAIN_TIMEOUT_SEC + 15  # not the sleep's 300 s
    assert result.exit_code == 0
    assert result.output_tail == "*** done\n"
    # The escaped sleep is the documented gap (no subreaper); the sleep_arg fixture kills it.
    assert len(live_processes_with(sleep_arg)) == 1
