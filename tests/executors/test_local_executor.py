"""LocalExecutor with real processes: exit codes, spawn failures, env, cwd, logs and big output."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import psutil
import pytest

from engine.executors.base import Executor
from engine.executors.local import LocalExecutor
from engine.executors.logfile import TAIL_BYTES
from tests.executors.processes import SpecFactory

PY = sys.executable


def test_local_executor_satisfies_the_protocol() -> None:
    executor: Executor = LocalExecutor()  # checked by mypy when tests are type-checked
    assert executor is not None


@pytest.mark.parametrize("code", [0, 3])
async def test_exit_code(executor: LocalExecutor, make_spec: SpecFactory, code: int) -> None:
    handle = await executor.launch(make_spec("sh", "-c", f"exit {code}"))
    assert handle.pid is not None
    result = await handle.wait()
    assert (result.exit_code, result.signal, result.spawn_error) == (code, None, None)
    assert not result.timed_out and not result.canceled
    assert result.pid == handle.pid
    assert result.started_at <= result.finished_at


async def test_death_by_signal_sets_signal_not_exit_code(
    executor: LocalExecutor, make_spec: SpecFactory
) -> None:
    result = await (await executor.launch(make_spec("sh", "-c", "kill -KILL $$"))).wait()
    assert (result.exit_code, result.signal) == (None, signal.SIGKILL)


@pytest.mark.parametrize(
    ("argv", "cwd", "expected"),
    [
        (("frobnicate-no-such-command",), None, "command not found: frobnicate-no-such-command"),
        (("{tmp}/not-executable.sh",), None, "permission denied: cannot execute {tmp}/"),
        (("true",), "{tmp}/no-such-dir", "working directory does not exist: {tmp}/no-such-dir"),
        (("true",), "{tmp}/not-executable.sh", "working directory is not a directory: {tmp}/"),
    ],
)
async def test_spawn_failure_is_a_result_not_an_exception(
    executor: LocalExecutor,
    make_spec: SpecFactory,
    tmp_path: Path,
    argv: tuple[str, ...],
    cwd: str | None,
    expected: str,
) -> None:
    script = tmp_path / "not-executable.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o644)
    argv = tuple(a.format(tmp=tmp_path) for a in argv)
    spec = make_spec(*argv, cwd=cwd.format(tmp=tmp_path) if cwd else None)
    handle = await executor.launch(spec)
    assert handle.pid is None
    result = await handle.wait()
    assert result.spawn_error is not None
    assert result.spawn_error.startswith(expected.format(tmp=tmp_path))
    assert (result.exit_code, result.signal, result.pid) == (None, None, None)
    assert spec.log_path.read_text() == result.spawn_error + "\n"
    assert result.output_tail == result.spawn_error + "\n"
    await handle.terminate(1.0)  # harmless on a handle that never ran
    handle.kill()


async def test_env_is_exactly_the_given_environment(
    executor: LocalExecutor, make_spec: SpecFactory
) -> None:
    env = {"PATH": os.environ["PATH"], "GREETING": "hello world"}
    spec = make_spec("env", env=env)  # not Python: it would add LC_CTYPE itself
    await (await executor.launch(spec)).wait()
    lines = spec.log_path.read_text().splitlines()
    assert sorted(lines) == sorted(f"{k}={v}" for k, v in env.items())


async def test_cwd_is_honoured(
    executor: LocalExecutor, make_spec: SpecFactory, tmp_path: Path
) -> None:
    workdir = tmp_path / "work dir"
    workdir.mkdir()
    spec = make_spec("pwd", cwd=str(workdir))
    assert (await (await executor.launch(spec)).wait()).exit_code == 0
    assert spec.log_path.read_text() == f"{workdir}\n"


async def test_stdout_and_stderr_merge_in_order_and_stdin_is_empty(
    executor: LocalExecutor, make_spec: SpecFactory
) -> None:
    spec = make_spec("sh", "-c", "echo one; echo two >&2; echo three; cat; echo four >&2")
    result = await (await executor.launch(spec)).wait()
    assert spec.log_path.read_text() == "one\ntwo\nthree\nfour\n"
    assert result.output_tail == "one\ntwo\nthree\nfour\n"


async def test_log_is_appended_and_tail_covers_this_attempt_only(
    executor: LocalExecutor, make_spec: SpecFactory
) -> None:
    first = await (await executor.launch(make_spec("echo", "first"))).wait()
    second = await (await executor.launch(make_spec("sh", "-c", "true"))).wait()
    third = await (await executor.launch(make_spec("echo", "third"))).wait()
    assert make_spec().log_path.read_text() == "first\nthird\n"
    assert (first.output_tail, second.output_tail, third.output_tail) == ("first\n", "", "third\n")


async def test_tail_is_the_last_bytes_and_skips_a_cut_utf8_sequence(
    executor: LocalExecutor, make_spec: SpecFactory
) -> None:
    # 3-byte characters: the tail window starts inside one of them.
    code = "import sys; sys.stdout.write('€' * 5000 + 'END')"
    result = await (await executor.launch(make_spec(PY, "-c", code))).wait()
    assert result.output_tail.endswith("€€€END")
    assert "\ufffd" not in result.output_tail
    assert len(result.output_tail.encode()) > TAIL_BYTES - 3


async def test_one_megabyte_single_line(executor: LocalExecutor, make_spec: SpecFactory) -> None:
    spec = make_spec(PY, "-c", "print('x' * 1048576)")
    result = await (await executor.launch(spec)).wait()
    assert result.exit_code == 0
    assert spec.log_path.stat().st_size == 1048577
    assert result.output_tail == "x" * (TAIL_BYTES - 1) + "\n"


@pytest.mark.slow
async def test_one_gigabyte_of_output_goes_to_disk_not_memory(
    executor: LocalExecutor, make_spec: SpecFactory
) -> None:
    me = psutil.Process()
    rss_before = me.memory_info().rss
    spec = make_spec("sh", "-c", "head -c 1073741824 /dev/zero; echo END")
    try:
        result = await (await executor.launch(spec)).wait()
        assert result.exit_code == 0
        assert spec.log_path.stat().st_size == 1073741824 + 4
        assert result.output_tail == "\0" * (TAIL_BYTES - 4) + "END\n"
        assert me.memory_info().rss - rss_before < 50 * 1024 * 1024
    finally:
        spec.log_path.unlink(missing_ok=True)


async def test_fifty_concurrent_launches(executor: LocalExecutor, make_spec: SpecFactory) -> None:
    specs = [
        make_spec("sh", "-c", f"sleep 0.05; echo step-{i}; exit {i % 4}", step_id=f"s{i}")
        for i in range(50)
    ]
    specs = [
        make_spec(*s.argv, step_id=s.step_id, log_path=s.log_path.with_name(f"{s.step_id}.log"))
        for s in specs
    ]
    handles = [await executor.launch(spec) for spec in specs]
    results = await asyncio.gather(*(h.wait() for h in handles))
    assert [r.exit_code for r in results] == [i % 4 for i in range(50)]
    assert [r.output_tail for r in results] == [f"step-{i}\n" for i in range(50)]
    assert len({r.pid for r in results}) == 50


async def test_wait_is_repeatable_and_survives_a_canceled_waiter(
    executor: LocalExecutor, make_spec: SpecFactory
) -> None:
    handle = await executor.launch(make_spec("sh", "-c", "sleep 0.2; echo done"))
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(handle.wait(), 0.01)
    first, second = await asyncio.gather(handle.wait(), handle.wait())
    assert first is second
    assert first.output_tail == "done\n"
    assert await handle.wait() is first


async def test_log_directory_is_recreated_if_removed(
    executor: LocalExecutor, make_spec: SpecFactory
) -> None:
    spec = make_spec("echo", "one")
    await (await executor.launch(spec)).wait()
    spec.log_path.unlink()
    spec.log_path.parent.rmdir()
    result = await (await executor.launch(spec)).wait()
    assert result.output_tail == "one\n"


async def test_spawner_threads_run_the_same_attempts(make_spec: SpecFactory) -> None:
    executor = LocalExecutor(spawn_threads=2)
    try:
        specs = [
            make_spec(
                "sh",
                "-c",
                f"echo {i}; exit {i % 3}",
                log_path=make_spec().log_path.with_name(f"{i}.log"),
            )
            for i in range(20)
        ]
        results = await asyncio.gather(*[(await executor.launch(s)).wait() for s in specs])
        assert [(r.exit_code, r.output_tail) for r in results] == [
            (i % 3, f"{i}\n") for i in range(20)
        ]
        failed = await (await executor.launch(make_spec("no-such-command-at-all"))).wait()
        assert failed.spawn_error == "command not found: no-such-command-at-all"
    finally:
        executor.close()
