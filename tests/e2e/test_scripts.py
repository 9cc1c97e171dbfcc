"""Script steps: `run` written to a file in the run's scratch and run by the interpreter `shell`
names (docs/plans.md, "Scripts")."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.plan.loader import load_document
from engine.plan.problems import InvalidPlan
from tests.e2e.conftest import Engine


def _log(engine: Engine, step_id: str) -> str:
    (attempt,) = engine.attempts(step_id)
    assert attempt.log_path is not None
    path = Path(attempt.log_path)
    if not path.is_absolute():
        path = engine.ledger_dir / path
    return path.read_text()


def test_sh_is_the_default_and_runs_a_multi_line_script_with_vars_and_outputs(
    engine: Engine,
) -> None:
    script = 'echo "hello ${WHO}"\nanswer=42\necho "ANSWER=$answer" >> "$ENGINE_OUTPUT"\n'
    result = engine.run_plan(
        [
            {"id": "produce", "run": script, "provides": ["ANSWER"]},
            {
                "id": "consume",
                "run": 'echo "got ${steps.produce.outputs.ANSWER} and $1"',
                "args": ["an arg"],
                "depends_on": ["produce"],
            },
        ],
        vars={"WHO": "world"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert _log(engine, "produce") == "hello world\n"
    assert _log(engine, "consume") == "got 42 and an arg\n"


def test_the_script_is_a_file_in_the_runs_scratch_never_argv(engine: Engine) -> None:
    marker = "a-marker-only-in-the-script"
    result = engine.run_plan(
        [{"id": "a", "run": f'echo {marker}\necho "$0" "$(tr "\\0" " " < /proc/$$/cmdline)"'}]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    first, second = _log(engine, "a").splitlines()
    assert first == marker
    script_path, own_argv = second.split(" ", 1)
    run_id = engine.last_run().id
    assert script_path == str(engine.ledger_dir / "scratch" / run_id / "a.1.sh")
    assert own_argv == f"sh -e {script_path} "  # the script's text is not in argv
    assert marker not in own_argv


def test_sh_stops_at_the_first_failing_command(engine: Engine) -> None:
    result = engine.run_plan([{"id": "a", "run": "false\necho not reached"}])
    assert result.returncode == 1
    (attempt,) = engine.attempts("a")
    assert (attempt.status, attempt.exit_code) == ("failed", 1)
    assert "not reached" not in _log(engine, "a")


def test_bash_fails_a_step_whose_pipeline_fails(engine: Engine) -> None:
    result = engine.run_plan(
        [
            # Not `abort`: under load `piped` could fail first and cancel `arrays`.
            {
                "id": "piped",
                "shell": "bash",
                "run": "false | cat\necho not reached",
                "on_failure": "continue",
            },
            {"id": "arrays", "shell": "bash", "run": "a=(x y z)\necho $${#a[@]} $${a[1]}"},
        ]
    )
    assert result.returncode == 1
    statuses = engine.statuses()
    assert statuses["piped"] == "failed"
    assert "not reached" not in _log(engine, "piped")
    assert _log(engine, "arrays") == "3 y\n"


def test_python(engine: Engine) -> None:
    script = "import sys\nprint('py', sys.argv[1:], '${WHO}')\nraise SystemExit(3)\n"
    result = engine.run_plan(
        [{"id": "py", "shell": "python", "run": script, "args": ["x"]}], vars={"WHO": "me"}
    )
    assert result.returncode == 1
    (attempt,) = engine.attempts("py")
    assert attempt.exit_code == 3
    assert _log(engine, "py") == "py ['x'] me\n"


def test_a_custom_template(engine: Engine) -> None:
    result = engine.run_plan(
        [{"id": "t", "shell": "sh -c 'echo from template; . \"$1\"' sh {0}", "run": "echo sourced"}]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert _log(engine, "t") == "from template\nsourced\n"


@pytest.mark.skipif(shutil.which("perl") is None, reason="perl is not installed")
def test_a_perl_template(engine: Engine) -> None:
    result = engine.run_plan([{"id": "p", "shell": "perl {0}", "run": 'print "perl ok\\n";'}])
    assert result.returncode == 0, result.stdout + result.stderr
    assert _log(engine, "p") == "perl ok\n"


@pytest.mark.skipif(shutil.which("pwsh") is None, reason="pwsh (PowerShell) is not installed")
def test_pwsh(engine: Engine) -> None:
    result = engine.run_plan(
        [{"id": "p", "shell": "pwsh", "run": "Write-Output 'pwsh ok'\nexit 4"}]
    )
    assert result.returncode == 1
    assert engine.attempts("p")[0].exit_code == 4
    assert "pwsh ok" in _log(engine, "p")


def test_a_missing_interpreter_is_spawn_failed_naming_it(engine: Engine) -> None:
    result = engine.run_plan(
        [{"id": "m", "shell": "no-such-interpreter-xyz {0}", "run": "anything"}]
    )
    assert result.returncode == 1
    (attempt,) = engine.attempts("m")
    assert attempt.error_code == "spawn_failed"
    assert attempt.message is not None
    assert attempt.message.startswith("interpreter not found: no-such-interpreter-xyz")


def test_command_with_shell_true_still_works(engine: Engine) -> None:
    result = engine.run_plan([{"id": "a", "command": "echo one | tr o O", "shell": True}])
    assert result.returncode == 0, result.stdout + result.stderr
    assert _log(engine, "a") == "One\n"


PROBLEMS = {
    "neither": (
        {"id": "a"},
        ("steps", 0),
        'step "a" needs command (a program), run (a script) or plan',
    ),
    "both": (
        {"id": "a", "command": "true", "run": "true"},
        ("steps", 0, "run"),
        'step "a" gives both command and run',
    ),
    "unknown shell": (
        {"id": "a", "run": "x", "shell": "zsh"},
        ("steps", 0, "shell"),
        'shell "zsh" is none of sh, bash, python, pwsh, nor a template with {0}',
    ),
    "unbalanced template": (
        {"id": "a", "run": "x", "shell": "perl '{0}"},
        ("steps", 0, "shell"),
        "is not a command line",
    ),
    "shell name with command": (
        {"id": "a", "command": "true", "shell": "bash"},
        ("steps", 0, "shell"),
        'shell "bash" names the interpreter of a script (run)',
    ),
    "secret in the script": (
        {"id": "a", "run": "curl -H ${TOKEN}", "secrets": ["TOKEN"]},
        ("steps", 0, "run"),
        'secret "TOKEN" cannot be substituted into the script',
    ),
    "undefined variable in the script": (
        {"id": "a", "run": "echo ${NOPE}"},
        ("steps", 0, "run"),
        "undefined variable ${NOPE}",
    ),
    "empty script": ({"id": "a", "run": ""}, ("steps", 0, "run"), "should be non-empty"),
}


@pytest.mark.parametrize("step, path, message", PROBLEMS.values(), ids=PROBLEMS.keys())
def test_validation(step: dict[str, object], path: tuple[object, ...], message: str) -> None:
    document = {"name": "p", "secrets": ["TOKEN"], "steps": [step]}
    with pytest.raises(InvalidPlan) as caught:
        load_document(document, "plan.json", Path("."), {})
    found = [(p.path, p.message) for p in caught.value.problems]
    assert any(p == path and message in m for p, m in found), found
