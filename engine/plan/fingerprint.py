"""A step's fingerprint: one short digest per part of its definition that decides what it does.

Resume compares parts to say what changed ("definition changed: args"), and the step cache keys on
the whole. Parts are digests, never values, so the ledger holds no env value in clear. Fields that
change only how a step is run (timeout, retry, on_failure, name) are not part of it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from engine.plan.spec import GROUPS, LoadedPlan, Step
from engine.plan.variables import OutputRef, VarRef, references

# Step fields whose resolved value is a part of its own. A field the runtime model does not have
# (yet) is left out, so a new field such as a script's `run` is covered by naming it here.
FIELDS = ("command", "args", "shell", "run", "secrets", "success_exit_codes", "plan")
# Parts that depend on the steps upstream rather than on the step's definition.
OUTPUTS = "outputs"


def digest(value: Any) -> str:
    """A short stable digest of a plan value (strings, numbers, booleans, lists and maps of them).

    Over repr() of a canonical form rather than JSON: a few times cheaper, and a step's parts are
    computed on the hot path.
    """
    return hashlib.blake2b(repr(_canonical(value)).encode(), digest_size=8).hexdigest()


def combine(parts: Mapping[str, str]) -> str:
    """The fingerprint of a whole: one digest over every part."""
    return hashlib.blake2b(repr(sorted(parts.items())).encode(), digest_size=16).hexdigest()


_PLAIN = (str, int, float, bool, type(None))


def _canonical(value: Any) -> Any:
    if isinstance(value, _PLAIN):
        return value
    if type(value) is tuple and all(isinstance(item, _PLAIN) for item in value):
        return value
    if isinstance(value, Mapping):
        return tuple(sorted((str(key), _canonical(item)) for key, item in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_canonical(item) for item in value)
    return value


def changed_parts(old: Mapping[str, str], new: Mapping[str, str]) -> list[str]:
    """The definition parts that differ (a part one side lacks counts as changed)."""
    names = (set(old) | set(new)) - {OUTPUTS}
    return sorted(name for name in names if ":" not in name and old.get(name) != new.get(name))


class Fingerprinter:
    """Computes the definition parts of a plan's steps once, and adds consumed outputs per run."""

    def __init__(self, loaded: LoadedPlan) -> None:
        self._loaded = loaded
        self._raw = {
            step.get("id"): step
            for group in ("steps", "on_success", "on_failure", "on_exit")
            for step in loaded.document.get(group) or ()
            if isinstance(step, dict)
        }
        self._parts: dict[str, dict[str, str]] = {}

    def definition(self, step: Step) -> dict[str, str]:
        """The parts that come from the plan alone: fields, env, cwd and the vars it uses."""
        parts = self._parts.get(step.id)
        if parts is None:
            plan = self._loaded.plan
            parts = {name: digest(getattr(step, name)) for name in FIELDS if hasattr(step, name)}
            inherit = plan.globals.inherit_env if step.inherit_env is None else step.inherit_env
            env = {**plan.globals.env, **step.env}
            parts["env"] = digest((tuple(sorted(env.items())), inherit) if env else inherit)
            parts["cwd"] = digest(os.path.join(str(self._loaded.base_dir), step.cwd or ""))
            if step.plan is not None:
                parts["plan_vars"] = digest(dict(step.vars))
                parts["plan_content"] = self._child_content(step)
            written = step.matrix.step if step.matrix is not None else step.id
            used = sorted(set(_var_names(self._raw.get(written)))) if self._loaded.vars else ()
            if used:
                parts["vars"] = digest({name: self._loaded.vars.get(name) for name in used})
            self._parts[step.id] = parts
        return parts

    def _child_content(self, step: Step) -> str:
        """A digest of the child plan as written, and of the plans it runs in turn, so an edit to
        any of those files re-runs the step on resume and misses its cache."""
        from engine.errors import PlanError  # only plan steps pay for loading their child
        from engine.plan.loader import load_plan
        from engine.plan.problems import InvalidPlan

        assert step.plan is not None
        path = self._loaded.base_dir / step.plan
        try:
            child = load_plan(path, dict(step.vars))
        except (PlanError, InvalidPlan, OSError) as error:
            # The child broke after validation: never equal to the run that read it whole.
            return digest(["unloadable", str(path), str(error)])
        inner = Fingerprinter(child)
        nested = [
            inner.definition(each)["plan_content"]
            for group in GROUPS
            for each in getattr(child.plan, group)
            if each.plan is not None
        ]
        return digest([child.hash, *nested])

    def full(
        self, step: Step, outputs: Mapping[tuple[str, str], str]
    ) -> tuple[str, dict[str, str]]:
        """The fingerprint and parts, with the values of the outputs the step consumes."""
        parts = self.definition(step)
        consumed = consumed_outputs(step)
        if consumed:
            parts = {**parts, OUTPUTS: digest([[*key, outputs.get(key)] for key in consumed])}
        return combine(parts), parts


def consumed_outputs(step: Step) -> list[tuple[str, str]]:
    """The (step id, output) pairs a step reads: `consumes` and `${steps.ID.outputs.NAME}`."""
    found = dict.fromkeys(step.consumed)
    script = getattr(step, "run", None) or ""
    for text in (
        step.command or "",
        *step.args,
        *step.env.values(),
        step.cwd or "",
        script,
        *step.vars.values(),
    ):
        for ref in references(text):
            if isinstance(ref, OutputRef):
                found[(ref.step_id, ref.name)] = None
    return sorted(found)


def _var_names(raw: Any) -> Iterator[str]:
    """The names of the variables a step's text refers to, as written in the plan."""
    if isinstance(raw, str):
        for ref in references(raw):
            if isinstance(ref, VarRef):
                yield ref.name
    elif isinstance(raw, Mapping):
        yield from _each(raw.values())
    elif isinstance(raw, list):
        yield from _each(raw)


def _each(values: Iterable[Any]) -> Iterator[str]:
    for value in values:
        yield from _var_names(value)
