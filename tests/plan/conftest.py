"""Fixtures for plan tests: plan files in tmp_path, loaded in-process."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.plan.loader import LoadedPlan, load_plan
from engine.plan.problems import InvalidPlan, Problem


@pytest.fixture
def write_plan(tmp_path: Path) -> Callable[..., Path]:
    """Write a plan (a dict, dumped with indent=2, or text as is) and return its path."""

    def write(document: dict[str, Any] | str, name: str = "plan.json") -> Path:
        path = tmp_path / name
        text = document if isinstance(document, str) else json.dumps(document, indent=2)
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def problems_of(write_plan: Callable[..., Path]) -> Callable[..., list[Problem]]:
    """Load a plan that must be invalid; its problems, located."""

    def problems(document: dict[str, Any] | str, **given_vars: str) -> list[Problem]:
        with pytest.raises(InvalidPlan) as caught:
            load_plan(write_plan(document), given_vars)
        return caught.value.problems

    return problems


@pytest.fixture
def load(write_plan: Callable[..., Path]) -> Callable[..., LoadedPlan]:
    """Load a plan that must be valid."""

    def loaded(document: dict[str, Any] | str, **given_vars: str) -> LoadedPlan:
        try:
            return load_plan(write_plan(document), given_vars)
        except InvalidPlan as error:
            pytest.fail("\n".join(p.render(error.source) for p in error.problems))

    return loaded
