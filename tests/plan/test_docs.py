"""docs/plans.md covers every field of the schema, and every plan in it is valid."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from engine.plan.loader import load_document
from engine.plan.schema import plan_schema
from tests.plan.plan_helpers import REPO

DOC = (REPO / "docs" / "plans.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```json\n(.*?)```", DOC, re.DOTALL)
YAML_BLOCKS = re.findall(r"```yaml\n(.*?)```", DOC, re.DOTALL)


def _property_names(node: Any) -> set[str]:
    names: set[str] = set()
    if isinstance(node, dict):
        names.update(node.get("properties", {}))
        for child in node.values():
            names |= _property_names(child)
    elif isinstance(node, list):
        for child in node:
            names |= _property_names(child)
    return names


def test_every_property_of_the_schema_is_documented() -> None:
    names = _property_names(plan_schema())
    assert len(names) > 40
    missing = sorted(name for name in names if f"`{name}`" not in DOC)
    assert not missing, f"docs/plans.md does not mention {missing}"


def test_there_are_whole_plans_to_check() -> None:
    assert sum("steps" in json.loads(block) for block in BLOCKS) >= 10


@pytest.mark.parametrize(
    "block", BLOCKS, ids=lambda block: json.loads(block).get("name", "fragment")
)
def test_every_json_block_parses_and_every_whole_plan_validates(block: str, tmp_path: Path) -> None:
    document = json.loads(block)
    if "steps" not in document:
        return
    # Beside every other whole plan of the page as NAME.json, as a plan step finds its plan.
    for other in BLOCKS:
        plan = json.loads(other)
        if "steps" in plan:
            (tmp_path / f"{plan['name']}.json").write_text(other, encoding="utf-8")
    required = {name: "x" for name, default in document.get("vars", {}).items() if default is None}
    load_document(document, "docs/plans.md", tmp_path, required, block)


@pytest.mark.parametrize("block", YAML_BLOCKS, ids=lambda block: block.split("\n")[0])
def test_every_yaml_block_parses_and_every_whole_plan_validates(block: str) -> None:
    from engine.plan.yaml_document import parse_yaml

    document = parse_yaml(block, "docs/plans.md")
    if "steps" in document:
        load_document(document, "docs/plans.md", Path("."), {})


def test_links_to_examples_and_docs_exist() -> None:
    for target in re.findall(r"\]\((\.\./[^)#]+|[a-z]+\.md)\)", DOC):
        assert (REPO / "docs" / target).resolve().exists(), target
