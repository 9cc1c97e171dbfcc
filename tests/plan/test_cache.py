"""The validated-plan cache: a hit is the same plan as a full load, and never imports pydantic."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine.plan import cache
from engine.plan.cache import load_plan_cached
from engine.plan.loader import load_plan
from engine.plan.problems import InvalidPlan
from engine.plan.spec import LoadedPlan, plan_from_dict, plan_to_dict

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.json"))

RICH = {
    "name": "rich",
    "vars": {"BRANCH": "main", "N": 3},
    "secrets": ["TOKEN", {"name": "KEY", "from_env": "API_KEY", "optional": True}],
    "globals": {"max_concurrency": 2, "env": {"G": "${BRANCH}"}, "kill_grace_sec": 1},
    "steps": [
        {"id": "a", "command": "echo", "args": ["${BRANCH}", "$${literal}"], "provides": ["v"]},
        {
            "id": "b",
            "command": "sh",
            "shell": True,
            "args": ["${steps.a.outputs.v}"],
            "depends_on": ["a"],
            "retry": {"max_attempts": 3, "backoff": 2, "on_exit_codes": [1, 2]},
            "on_failure": "continue",
            "fallback": "c",
            "condition": "steps.a.outputs.v != ''",
            "skip_if": ["vars.BRANCH == 'x'", "env.CI == 'y'"],
            "secrets": ["TOKEN"],
            "success_exit_codes": [0, 3],
        },
        {"id": "c", "command": "true"},
    ],
    "on_exit": [{"id": "bye", "command": "echo", "args": ["${N}"], "consumes": ["a.v"]}],
}


def _write(tmp_path: Path, document: dict[str, object]) -> Path:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(document, indent=2))
    return path


def _same(left: LoadedPlan, right: LoadedPlan) -> None:
    assert left.plan == right.plan
    assert (left.vars, left.document, left.hash) == (right.vars, right.document, right.hash)
    assert (left.source, left.base_dir) == (right.source, right.base_dir)
    assert {g: x.deps for g, x in left.graphs.items()} == {
        g: x.deps for g, x in right.graphs.items()
    }


def test_a_second_load_is_a_hit_and_the_same_plan_as_a_full_load(tmp_path: Path) -> None:
    path = _write(tmp_path, RICH)
    first = load_plan_cached(path, {"BRANCH": "dev"}, tmp_path / "cache")
    assert len(list((tmp_path / "cache").glob("*.json"))) == 1
    second = load_plan_cached(path, {"BRANCH": "dev"}, tmp_path / "cache")
    _same(first, second)
    _same(second, load_plan(path, {"BRANCH": "dev"}))
    assert second.plan.steps[0].args == ("dev", "$${literal}")


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_every_example_survives_the_round_trip(example: Path) -> None:
    loaded = load_plan(example)
    assert plan_from_dict(json.loads(json.dumps(plan_to_dict(loaded.plan)))) == loaded.plan


def test_a_hit_never_imports_pydantic_nor_psutil(tmp_path: Path) -> None:
    plan = {
        "name": "hello",
        "vars": {"WHO": "world"},
        "steps": [
            {"id": "greet", "command": "echo", "args": ["hello ${WHO}"]},
            {"id": "check", "command": "true", "depends_on": ["greet"], "condition": "success()"},
        ],
    }
    path = _write(tmp_path, plan)
    ledger = tmp_path / "ledger" / "framework.db"
    command = [sys.executable, "-X", "importtime", "-m", "engine", "run", "-q"]
    command += ["--ledger", str(ledger), str(path)]
    # The key covers the engine's source files, so an edit or a `git rebase` in this checkout
    # between the two runs rightly makes the second a miss (two entries): then try again.
    for _ in range(3):
        shutil.rmtree(ledger.parent / "cache", ignore_errors=True)
        first = subprocess.run(command, capture_output=True, text=True, timeout=60)
        second = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if len(list((ledger.parent / "cache").glob("*.json"))) == 1:
            break
    assert first.returncode == second.returncode == 0, second.stderr
    assert "pydantic" in first.stderr  # the first run validated in full
    assert "pydantic" not in second.stderr
    assert "psutil" not in second.stderr  # only needed to check another engine's processes
    assert "engine.ledger.recovery" not in second.stderr  # no run was left active


def test_an_edited_plan_is_validated_again(tmp_path: Path) -> None:
    path = _write(tmp_path, RICH)
    load_plan_cached(path, {}, tmp_path / "cache")
    broken = {**RICH, "steps": [*RICH["steps"], {"id": "d", "command": "x", "depends_on": ["zz"]}]}  # type: ignore[list-item]
    _write(tmp_path, broken)
    with pytest.raises(InvalidPlan, match="1 problem"):
        load_plan_cached(path, {}, tmp_path / "cache")


def test_variables_are_part_of_the_key(tmp_path: Path) -> None:
    path = _write(tmp_path, RICH)
    main = load_plan_cached(path, {"BRANCH": "main"}, tmp_path / "cache")
    dev = load_plan_cached(path, {"BRANCH": "dev"}, tmp_path / "cache")
    assert main.plan.steps[0].args[0] == "main" and dev.plan.steps[0].args[0] == "dev"
    assert len(list((tmp_path / "cache").glob("*.json"))) == 2


def test_a_damaged_entry_is_a_miss_and_is_rewritten(tmp_path: Path) -> None:
    path = _write(tmp_path, RICH)
    expected = load_plan_cached(path, {}, tmp_path / "cache")
    (entry,) = (tmp_path / "cache").glob("*.json")
    for damage in ("{not json", json.dumps({"format": 1, "key": entry.stem, "plan": {}})):
        entry.write_text(damage)
        _same(load_plan_cached(path, {}, tmp_path / "cache"), expected)
        assert json.loads(entry.read_text())["plan"]["name"] == "rich"


def test_only_the_most_recently_used_entries_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache, "MAX_ENTRIES", 3)
    path = _write(tmp_path, RICH)
    for branch in "abcde":
        load_plan_cached(path, {"BRANCH": branch}, tmp_path / "cache")
    assert len(list((tmp_path / "cache").glob("*.json"))) == 3


def test_a_cache_that_cannot_be_written_costs_only_speed(tmp_path: Path) -> None:
    path = _write(tmp_path, RICH)
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache directory should be")
    _same(load_plan_cached(path, {}, blocker), load_plan(path))
