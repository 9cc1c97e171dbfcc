"""Outputs between steps, the environment, secrets and masking, and run hooks
(docs/plans.md)."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Engine
from tests.support import live_processes_with, wait_for


def sh(script: str, *args: str, **fields: Any) -> dict[str, Any]:
    return {"command": "sh", "args": ["-c", script, "sh", *args], **fields}


def read_env(path: Path) -> dict[str, str]:
    """An `env -0` dump as a dict."""
    pairs = [item.partition("=") for item in path.read_text().split("\0") if item]
    return {name: value for name, _, value in pairs}


# -- outputs ---------------------------------------------------------------------------------------


def test_outputs_reach_args_env_and_cwd_of_dependents(engine: Engine) -> None:
    (engine.tmp_path / "work").mkdir()
    seen = engine.tmp_path / "seen"
    produce = (
        'echo "NAME=world" >> "$ENGINE_OUTPUT"; echo "DIR=work" >> "$ENGINE_OUTPUT";'
        ' printf "MULTI<<EOF\\nline one\\nline=two\\nEOF\\n" >> "$ENGINE_OUTPUT"'
    )
    result = engine.run_plan(
        [
            {"id": "produce", **sh(produce), "provides": ["NAME", "DIR", "MULTI"]},
            {
                "id": "consume",
                **sh(
                    'printf "%s|%s|%s|%s" "$1" "$GREETING" "$(pwd)" "$2" > "$SEEN"',
                    "${steps.produce.outputs.NAME}",
                    "${steps.produce.outputs.MULTI}",
                ),
                "env": {"GREETING": "hello ${steps.produce.outputs.NAME}", "SEEN": str(seen)},
                "cwd": "${steps.produce.outputs.DIR}",
                "depends_on": ["produce"],
            },
        ]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    work = (engine.tmp_path / "work").resolve()
    assert seen.read_text() == f"world|hello world|{work}|line one\nline=two"
    with engine.reader() as reader:
        outputs = {(o.step_id, o.name): o.value for o in reader.outputs(engine.last_run().id)}
    assert outputs == {
        ("produce", "NAME"): "world",
        ("produce", "DIR"): "work",
        ("produce", "MULTI"): "line one\nline=two",
    }


def test_a_promised_output_that_is_missing_fails_the_attempt(engine: Engine) -> None:
    result = engine.run_plan(
        [{"id": "p", **sh('echo "OTHER=1" >> "$ENGINE_OUTPUT"'), "provides": ["PROMISED"]}]
    )
    assert result.returncode == 1
    (attempt,) = engine.attempts("p")
    assert attempt.error_code == "output_missing"
    assert attempt.exit_code == 0
    assert attempt.message and "PROMISED" in attempt.message


def test_outputs_above_one_megabyte_fail_with_a_clear_error(engine: Engine) -> None:
    big = "printf 'BIG='; head -c 1100000 /dev/zero | tr '\\0' a"
    result = engine.run_plan([{"id": "p", **sh(f'({big}) >> "$ENGINE_OUTPUT"')}])
    assert result.returncode == 1
    (attempt,) = engine.attempts("p")
    assert attempt.error_code == "output_too_large"
    assert attempt.message and "exceed" in attempt.message and "1024 KB" in attempt.message
    with engine.reader() as reader:
        assert reader.outputs(engine.last_run().id) == []


# -- the environment -------------------------------------------------------------------------------


def test_steps_see_an_allow_list_plus_plan_file_and_step_values(engine: Engine) -> None:
    env_file = engine.tmp_path / "extra.env"
    env_file.write_text("# comment\nFROM_FILE=file\nexport QUOTED='q v'\n")
    plain, inherit = engine.tmp_path / "plain.env", engine.tmp_path / "inherit.env"
    result = engine.run_plan(
        [
            {"id": "plain", **sh(f"env -0 > {plain}"), "env": {"STEP_VAR": "step"}},
            {"id": "inherit", **sh(f"env -0 > {inherit}"), "inherit_env": True},
        ],
        "--env-file",
        str(env_file),
        globals={"env": {"GLOBAL_VAR": "global", "FROM_FILE": "plan"}},
        env={"SECRETISH": "1"},
    )
    assert result.returncode == 0, result.stderr
    seen = read_env(plain)
    assert "SECRETISH" not in seen
    assert "LEDGER_DB" not in seen
    assert seen["PATH"]
    assert seen["GLOBAL_VAR"] == "global"
    assert seen["FROM_FILE"] == "file"  # --env-file wins over globals.env
    assert seen["QUOTED"] == "q v"
    assert seen["STEP_VAR"] == "step"
    assert seen["ENGINE_STEP_ID"] == "plain"
    inherited = read_env(inherit)
    assert inherited["SECRETISH"] == "1"
    assert inherited["GLOBAL_VAR"] == "global"
    assert "STEP_VAR" not in inherited


def test_missing_required_env_is_reported_at_once_before_anything_runs(engine: Engine) -> None:
    ran = engine.tmp_path / "ran"
    result = engine.run_plan(
        [{"id": "a", **sh(f"touch {ran}")}],
        requires_env=["ENGINE_TEST_MISSING_ONE", "HOME", "ENGINE_TEST_MISSING_TWO"],
    )
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert "ENGINE_TEST_MISSING_ONE, ENGINE_TEST_MISSING_TWO" in lines[0]
    assert "HOME" not in lines[0]
    assert not ran.exists()
    assert engine.runs() == []


# -- secrets ---------------------------------------------------------------------------------------

SECRET = "s3cr3t-V4lue-from-env-7391"
FILE_SECRET = "f1le-S3cret-value-2846"


def test_secrets_are_seen_only_where_listed_and_never_stored(engine: Engine) -> None:
    secrets_file = engine.tmp_path / "secrets.env"
    secrets_file.write_text(f"FILE_TOKEN={FILE_SECRET}\n")
    presence = engine.tmp_path / "presence"
    # Prints the secret in pieces with pauses (so reads split it), several times, to both streams,
    # and writes it to an output.
    leak = (
        'a=$(printf %s "$TOKEN" | cut -c1-6); b=$(printf %s "$TOKEN" | cut -c7-);'
        ' printf %s "$a"; sleep 0.2; printf "%s\\n" "$b";'
        ' for i in 1 2 3; do echo "token=$TOKEN file=$FILE_TOKEN"; echo "$TOKEN" >&2; done;'
        ' printf %s "$FILE_TOKEN" | cut -c1-5; sleep 0.1; printf %s "$FILE_TOKEN" | cut -c6-;'
        ' echo "LEAK=x$${TOKEN}y" >> "$ENGINE_OUTPUT"'
    )
    result = engine.run_plan(
        [
            {"id": "leak", **sh(leak), "secrets": ["TOKEN", "FILE_TOKEN"], "provides": ["LEAK"]},
            {
                "id": "only_file",
                **sh(f'echo "$${{TOKEN:-unset}} $${{FILE_TOKEN:+set}}" > {presence}'),
                "secrets": ["FILE_TOKEN"],
            },
            {
                "id": "inherits",
                **sh(f'echo "$${{TOKEN:-unset}}" > {presence}.inherit'),
                "inherit_env": True,
            },
            {
                "id": "fails",
                **sh('echo "LEAK=$TOKEN" >> "$ENGINE_OUTPUT"; echo "$TOKEN"; exit 1'),
                "secrets": ["TOKEN"],
                "on_failure": "continue",
            },
        ],
        "--secrets-file",
        str(secrets_file),
        secrets=["TOKEN", "FILE_TOKEN"],
        env={"TOKEN": SECRET},
    )
    assert result.returncode == 1, result.stderr
    assert presence.read_text() == "unset set\n"
    assert Path(f"{presence}.inherit").read_text() == "unset\n"
    statuses = engine.statuses()
    assert statuses["leak"] == "succeeded" and statuses["only_file"] == "succeeded"
    with engine.reader() as reader:
        run_id = engine.last_run().id
        (leaked,) = [o for o in reader.outputs(run_id) if o.step_id == "leak"]
        log_path = Path(engine.attempts("leak")[0].log_path or "")
    assert leaked.value == "x***y"
    log = log_path.read_text()
    assert log.count("***") >= 8
    assert SECRET not in result.stdout + result.stderr
    for path in engine.ledger_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert SECRET.encode() not in data, path
            assert FILE_SECRET.encode() not in data, path


def test_secrets_in_messages_built_from_step_output_are_masked_too(engine: Engine) -> None:
    # An $ENGINE_OUTPUT line whose *name* holds the secret is refused with a message quoting it:
    # that message reaches the attempt row, the step's reason, an event and the --json stream.
    result = engine.run_plan(
        [{"id": "odd", **sh('echo "$TOKEN.x=1" >> "$ENGINE_OUTPUT"'), "secrets": ["TOKEN"]}],
        "--json",
        secrets=["TOKEN"],
        env={"TOKEN": SECRET},
    )
    assert result.returncode == 1, result.stderr
    (attempt,) = engine.attempts("odd")
    assert attempt.message is not None and "***" in attempt.message
    assert SECRET not in result.stdout + result.stderr
    for path in engine.ledger_dir.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


# -- hooks -----------------------------------------------------------------------------------------


def hook(name: str, directory: Path, code: int = 0) -> dict[str, Any]:
    return {"id": name, **sh(f"touch {directory / name}; exit {code}")}


def test_hooks_follow_success_and_a_failing_hook_changes_nothing(engine: Engine) -> None:
    d = engine.tmp_path
    result = engine.run_plan(
        [{"id": "a", "command": "true"}],
        on_success=[hook("ok_hook", d, code=1)],
        on_failure=[hook("fail_hook", d)],
        on_exit=[hook("exit_hook", d, code=1)],
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert engine.last_run().status == "succeeded"
    assert (d / "ok_hook").exists() and (d / "exit_hook").exists()
    assert not (d / "fail_hook").exists()
    statuses = engine.statuses()
    assert statuses["ok_hook"] == "failed" and statuses["exit_hook"] == "failed"
    assert statuses["fail_hook"] == "skipped"


def test_hooks_follow_failure(engine: Engine) -> None:
    d = engine.tmp_path
    result = engine.run_plan(
        [{"id": "a", **sh("exit 1")}],
        on_success=[hook("ok_hook", d)],
        on_failure=[hook("fail_hook", d, code=1)],
        on_exit=[hook("exit_hook", d)],
    )
    assert result.returncode == 1
    assert engine.last_run().status == "failed"
    assert not (d / "ok_hook").exists()
    assert (d / "fail_hook").exists() and (d / "exit_hook").exists()


def test_on_exit_runs_after_a_cancel(engine: Engine, marker: str) -> None:
    d = engine.tmp_path
    path = engine.plan(
        [{"id": "long", "command": "sleep", "args": [marker]}],
        globals={"kill_grace_sec": 0.5},
        on_success=[hook("ok_hook", d)],
        on_failure=[hook("fail_hook", d)],
        on_exit=[hook("exit_hook", d)],
    )
    proc = engine.start("run", path)
    wait_for(lambda: live_processes_with(marker))
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == 143
    assert engine.last_run().status == "canceled"
    assert (d / "exit_hook").exists()
    assert not (d / "ok_hook").exists() and not (d / "fail_hook").exists()
