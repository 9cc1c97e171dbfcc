"""Explaining a rejected plan stays small: problems are capped, the rest only counted."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest

from engine.plan.loader import load_plan
from engine.plan.problems import MAX_SHOWN_PROBLEMS, InvalidPlan
from engine.plan.schema import schema_problems

STEPS = 20_000


def _wrong_in_every_step() -> dict[str, object]:
    steps = [{"id": f"s{i}", "command": "echo", "bogus": i} for i in range(STEPS)]
    return {"name": "wrong", "steps": steps}


def test_explaining_a_rejection_keeps_few_problems_and_little_memory() -> None:
    document = _wrong_in_every_step()
    size = len(json.dumps(document))
    tracemalloc.start()
    try:
        problems, total = schema_problems(document)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == STEPS
    assert len(problems) == MAX_SHOWN_PROBLEMS
    # Keeping every jsonschema error took 15 times the plan's size here; now about 2 (mostly
    # the schema itself).
    assert peak < 4 * size, f"peak {peak} bytes for a {size}-byte plan"


def test_the_cli_says_how_many_were_not_shown(tmp_path: Path) -> None:
    path = tmp_path / "wrong.json"
    path.write_text(json.dumps(_wrong_in_every_step()))
    with pytest.raises(InvalidPlan) as caught:
        load_plan(path)
    error = caught.value
    assert len(error.problems) == MAX_SHOWN_PROBLEMS and error.total == STEPS
    assert error.message == f"{path} is not a valid plan (20000 problems, the first 50 shown)"
    assert all(p.line is not None for p in error.problems)
