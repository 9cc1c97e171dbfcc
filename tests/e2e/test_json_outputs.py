"""JSON outputs read field by field (docs/plans.md, "JSON outputs"), in arguments and conditions."""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.conftest import Engine

INFO = {"sha": "abc123", "tags": ["latest", "v2"], "build": {"id": 42, "ok": True}}


def meta_step() -> dict[str, Any]:
    script = f"printf 'info=%s\\n' '{json.dumps(INFO)}' >> \"$ENGINE_OUTPUT\""
    return {"id": "meta", "command": "sh", "args": ["-c", script], "provides": ["info"]}


def said(engine: Engine, step_id: str) -> str:
    with engine.reader() as reader:
        run_id = reader.list_runs(limit=1)[0].id
        [output] = [o for o in reader.outputs(run_id) if o.step_id == step_id]
        return output.value


def test_fields_of_a_json_output_fill_in_arguments_and_decide_conditions(engine: Engine) -> None:
    result = engine.run_plan(
        [
            meta_step(),
            {
                "id": "use",
                "command": "sh",
                "depends_on": ["meta"],
                "provides": ["said"],
                "args": [
                    "-c",
                    'printf "said=%s\\n" "$1" >> "$ENGINE_OUTPUT"',
                    "echo",
                    "${steps.meta.outputs.info.sha}/${steps.meta.outputs.info.tags.1}"
                    " ${steps.meta.outputs.info.build.id} ${steps.meta.outputs.info.build}",
                ],
            },
            {
                "id": "when-sha",
                "command": "true",
                "depends_on": ["meta"],
                "condition": "fromJSON(steps.meta.outputs.info).sha == 'ABC123'"
                " && fromJSON(steps.meta.outputs.info).build.id > 41",
            },
            {
                "id": "when-missing",
                "command": "true",
                "depends_on": ["meta"],
                "condition": "fromJSON(steps.meta.outputs.info).nope != null",
            },
        ]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert engine.statuses() == {
        "meta": "succeeded",
        "use": "succeeded",
        "when-sha": "succeeded",
        "when-missing": "skipped",  # a missing field is null in a condition, as in GitHub
    }
    assert said(engine, "use") == 'abc123/v2 42 {"id":42,"ok":true}'


def test_a_missing_field_fails_the_step_that_reads_it_with_a_clear_reason(engine: Engine) -> None:
    result = engine.run_plan(
        [
            meta_step(),
            {
                "id": "use",
                "command": "echo",
                "args": ["${steps.meta.outputs.info.build.sha}"],
                "depends_on": ["meta"],
                "on_failure": "continue",
            },
            {
                "id": "past-a-string",
                "command": "echo",
                "args": ["${steps.meta.outputs.info.tags.0.x}"],
                "depends_on": ["meta"],
                "on_failure": "continue",
            },
        ]
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    steps = engine.steps()
    assert str(steps["use"].status) == "failed"
    assert steps["use"].reason == 'output "info" of step "meta" has no field "info.build.sha"'
    past = 'output "info" of step "meta" has no field "info.tags.0.x"'
    assert steps["past-a-string"].reason == past
    assert engine.attempts("use") == []  # nothing was started


def test_a_field_of_an_output_not_provided_is_a_validation_error(engine: Engine) -> None:
    use = {
        "id": "use",
        "command": "echo",
        "args": ["${steps.meta.outputs.inf.sha}", "${steps.meta.outputs.info..sha}"],
        "depends_on": ["meta"],
    }
    result = engine.run_plan([meta_step(), use])
    assert result.returncode == 2
    assert 'step "meta" does not provide output "inf"' in result.stderr
    assert "bad reference ${steps.meta.outputs.info..sha}" in result.stderr
    assert "with .FIELD for a field of a JSON output" in result.stderr
    assert "Traceback" not in result.stderr
