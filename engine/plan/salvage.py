"""The semantic problems of a plan that breaks the schema, so that one report lists every problem.

The plan is repaired, in a copy, until the models accept it: a bad optional field is removed (its
default applies), a bad `command` or `name` gets a stand-in, and a step id, secret or variable that
cannot be used is renamed to a stand-in that cannot clash. The checks then run on the copy. Their
findings at a repaired place, or naming a renamed thing, are dropped: they would only echo a
problem the schema already reported, or be caused by the repair.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from engine.plan.model import Plan
from engine.plan.problems import JsonPath, Problem
from engine.plan.spec import GROUPS

_STAND_IN = "__invalid_{}"
_MAX_ROUNDS = 20  # each round fixes every error pydantic reported; nesting needs a few rounds


@dataclass
class _Repair:
    document: dict[str, Any]
    places: list[JsonPath] = field(default_factory=list)
    names: set[str] = field(default_factory=set)  # renamed step ids, secrets, variables
    stand_ins: int = 0

    def stand_in(self) -> str:
        self.stand_ins += 1
        return _STAND_IN.format(self.stand_ins)


def semantic_problems(
    document: Any, check: Callable[[Plan], list[Problem]], reported: list[Problem]
) -> list[Problem]:
    """What `check` finds in a repaired copy of `document`, minus echoes of `reported`."""
    if not isinstance(document, dict):
        return []
    repair = _Repair(copy.deepcopy(document))
    for _ in range(_MAX_ROUNDS):
        try:
            plan = Plan.model_validate(repair.document)
        except ValidationError as error:
            fixed = [_fix(repair, tuple(e["loc"])) for e in error.errors()]
            if not any(fixed):
                return []  # nothing left to check that would not mislead
            continue
        seen = {(p.path, p.message) for p in reported}
        return [p for p in check(plan) if (p.path, p.message) not in seen and not _echo(p, repair)]
    return []


def _echo(problem: Problem, repair: _Repair) -> bool:
    if any(problem.path[: len(place)] == place for place in repair.places):
        return True
    if _STAND_IN.format("") in problem.message:
        return True
    return any(
        re.search(rf"[\"'{{]{re.escape(name)}[\"'}}]", problem.message) for name in repair.names
    )


def _fix(repair: _Repair, loc: tuple[Any, ...]) -> bool:
    """Repair the copy where pydantic reported an error; False if this one cannot be repaired."""
    doc = repair.document
    if not loc:
        return _drop_nulls(repair, doc, ())
    key = loc[0]
    if key in GROUPS:
        return _fix_step(repair, key, loc[1:])
    if key == "steps" or not isinstance(key, str):
        return False
    if key in ("secrets", "vars"):
        # A wholly invalid list of secrets or variables would make every use of one look undeclared.
        return len(loc) > 1 and _rename(repair, key, loc[1])
    if key == "name":
        doc["name"] = "plan"
    elif key == "globals" and len(loc) > 1 and isinstance(doc.get(key), dict):
        if doc[key].pop(loc[1], None) is None:
            return False
    elif (
        key == "globals"
        and isinstance(doc.get(key), dict)
        and _drop_nulls(repair, doc[key], (key,))
    ):
        return True
    elif doc.pop(key, None) is None:
        return False
    repair.places.append(loc[:2])
    return True


def _fix_step(repair: _Repair, group: str, loc: tuple[Any, ...]) -> bool:
    steps = repair.document.get(group)
    if not loc or not isinstance(steps, list):
        if group != "steps":
            repair.document[group] = []
            repair.places.append((group,))
            return True
        return False
    index = loc[0]
    step = steps[index]
    if not isinstance(step, dict):
        steps[index] = {"id": repair.stand_in(), "command": "true"}
        repair.places.append((group, index))
        return True
    if len(loc) == 1:
        return _drop_nulls(repair, step, (group, index))
    name = loc[1]
    if name == "id":
        if isinstance(step.get("id"), str):
            repair.names.add(step["id"])
        step["id"] = repair.stand_in()
    elif name in ("command", "run"):
        if not _set(step, name, "true"):
            return False
    elif step.pop(name, None) is None:
        return False
    repair.places.append((group, index, name))
    return True


def _rename(repair: _Repair, key: str, item: Any) -> bool:
    """A secret or variable that is invalid (its name or its value) becomes a harmless stand-in."""
    container = repair.document.get(key)
    if key == "secrets" and isinstance(container, list) and isinstance(item, int):
        old = container[item]
        name = old.get("name") if isinstance(old, dict) else old
        if isinstance(name, str):
            repair.names.add(name)
        container[item] = repair.stand_in()
    elif key == "vars" and isinstance(container, dict) and item in container:
        if isinstance(item, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", item):
            container[item] = ""  # a bad value: the name stays declared
        else:
            repair.names.add(item)
            del container[item]
    else:
        return False
    repair.places.append((key, item))
    return True


def _drop_nulls(repair: _Repair, node: dict[str, Any], where: JsonPath) -> bool:
    """`null` is rejected by each model as a whole: remove the null fields."""
    nulls = [key for key, value in node.items() if value is None]
    for key in nulls:
        del node[key]
        repair.places.append((*where, key))
    return bool(nulls)


def _set(step: dict[str, Any], name: str, value: str) -> bool:
    if step.get(name) == value:
        return False
    step[name] = value
    return True
