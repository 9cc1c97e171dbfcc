"""Which executor a run uses, and the usage errors of choosing Dask."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from engine.errors import UserError
from engine.executors.dask.options import ExecutorChoice, choose_executor
from tests.e2e.conftest import Engine


def test_the_cli_wins_over_the_environment_and_the_plan() -> None:
    env = {"ENGINE_EXECUTOR": "local", "ENGINE_DASK_ADDRESS": "tcp://env:8786"}
    assert choose_executor("dask", None, env, "local") == ExecutorChoice("dask", "tcp://env:8786")
    assert choose_executor("dask", "tcp://cli:1", env, None).address == "tcp://cli:1"
    assert choose_executor(None, None, env, "dask") == ExecutorChoice("local")
    assert choose_executor(None, None, {}, "dask") == ExecutorChoice("dask", None)
    assert choose_executor(None, None, {"ENGINE_EXECUTOR": "dask"}, None).kind == "dask"
    assert choose_executor(None, None, {}, None) == ExecutorChoice("local")


def test_an_address_alone_does_not_choose_dask() -> None:
    assert choose_executor(None, None, {"ENGINE_DASK_ADDRESS": "tcp://x:1"}, None).kind == "local"
    with pytest.raises(UserError, match="--dask-address needs the Dask executor"):
        choose_executor(None, "tcp://x:1", {}, None)


def test_an_unknown_executor_is_a_usage_error() -> None:
    with pytest.raises(UserError, match="ENGINE_EXECUTOR: unknown executor 'ray'"):
        choose_executor(None, None, {"ENGINE_EXECUTOR": "ray"}, None)


def test_without_the_extra_one_sentence_names_it_and_no_run_exists(
    engine: Engine, tmp_path: Path
) -> None:
    # A `distributed` that cannot be imported, first on the path: as if the extra were missing.
    fake = tmp_path / "site" / "distributed"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named distributed')\n")
    env = {"PYTHONPATH": str(fake.parent), "ENGINE_EXECUTOR": "dask"}
    result = engine.run_plan([{"id": "a", "command": "true"}], env=env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "engine: the Dask executor needs the distributed package (No module named distributed); "
        "install the extra: pip install 'plan-engine[dask]'"
    ]
    assert engine.runs() == []


@pytest.mark.dask
def test_an_unreachable_scheduler_is_a_usage_error_before_any_run(engine: Engine) -> None:
    pytest.importorskip("distributed")
    steps = [{"id": "a", "command": "true"}]
    result = engine.run_plan(
        steps, "--executor", "dask", "--dask-address", "tcp://127.0.0.1:9",
        env={"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"},
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in result.stderr
    assert "Traceback" not in result.stderr
    assert engine.runs() == []


def test_a_local_run_imports_nothing_of_dask(engine: Engine) -> None:
    plan = engine.plan([{"id": "a", "command": "true"}])
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "engine", "run", str(plan)],
        cwd=engine.tmp_path, env=engine.env(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    imported = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()]
    assert "engine.executors.dask.options" in imported
    assert not [name for name in imported if name.split(".")[0] in ("distributed", "dask")]
