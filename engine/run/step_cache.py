"""The step cache: a step declaring `cache` takes an earlier run's result when its key matches.

The key is the step's fingerprint (engine.plan.fingerprint, consumed outputs included) with the
plan's name, the step's id, the content of its input files and the values of its env names, as
Nextflow's task hash covers a task's inputs and script. Imported only by plans that cache a step.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from engine.ledger.cache_lookup import CachedResult, cached_results, last_result
from engine.ledger.location import own_paths
from engine.plan.fingerprint import OUTPUTS, changed_parts, combine, digest
from engine.plan.spec import CacheSpec, LoadedPlan, Step
from engine.states import EventType

if TYPE_CHECKING:
    from engine.ledger.writer import LedgerWriter
    from engine.plan.fingerprint import Fingerprinter
    from engine.run.attempts import AttemptIO
    from engine.run.recorder import Recorder
    from engine.run.state import ScheduledStep

FORCE_ALL = "*"  # `--force` without a step: every cached step runs
_INPUT, _ENV = "input:", "env:"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class CacheDecision:
    """What the cache says of one step: its key and parts, the result to take, or why none."""

    key: str | None  # None when the key cannot be known (an input is unreadable): never cached
    parts: dict[str, str]  # the fingerprint's parts with the inputs' and env's
    hit: CachedResult | None
    reason: str


class StepCache:
    """Looks up cached steps' results in the ledger for one run."""

    def __init__(
        self,
        loaded: LoadedPlan,
        writer: LedgerWriter,
        env: Mapping[str, str],
        forced: frozenset[str],
    ) -> None:
        self._loaded = loaded
        self._writer = writer
        self._env = env
        self._forced = forced

    async def decide(self, step: Step, parts: Mapping[str, str]) -> CacheDecision:
        """Whether `step` (whose fingerprint `parts` are known) is taken from the cache, and why."""
        spec = step.cache
        assert spec is not None
        try:
            inputs = await asyncio.to_thread(
                hash_inputs, self._loaded.base_dir, spec.inputs, own_paths(self._writer.path)
            )
        except OSError as error:
            unreadable = f"not cached: cannot read input {error.filename}: {error.strerror}"
            return CacheDecision(None, dict(parts), None, unreadable)
        full = {**parts, **inputs}
        full.update({_ENV + name: digest(self._env.get(name)) for name in spec.env})
        key = combine({**full, "plan": self._loaded.plan.name, "step": step.id})
        if FORCE_ALL in self._forced or step.id in self._forced:
            return CacheDecision(key, full, None, "--force: the cache is not read")
        candidates = await cached_results(self._writer, key)
        hit, why = _pick(candidates, step, spec)
        if hit is not None:
            return CacheDecision(key, full, hit, why or "cache hit")
        if why is None:
            why = await self._difference(step, full)
        return CacheDecision(key, full, None, why)

    async def consult(
        self, step: ScheduledStep, fingerprints: Fingerprinter, io: AttemptIO, recorder: Recorder
    ) -> str | None:
        """Records a ready step's cache decision; the reason when its result was taken (a hit).

        On a hit the step's outputs are restored from the run it came from; on a miss a
        `step_cache_miss` event says why and the step is ready to run.
        """
        digest, parts = fingerprints.full(step.spec, io.outputs)
        decision = await self.decide(step.spec, parts)
        fingerprint = (digest, decision.parts, decision.key)
        if (hit := decision.hit) is not None:
            step.outputs = dict(hit.outputs)
            io.add_outputs(step.id, step.outputs)
            if step.outputs:
                recorder.outputs(step.id, 0, step.outputs)
            recorder.step_source(step.id, fingerprint, hit.run_id, hit.attempt)
            return decision.reason
        recorder.event(
            EventType.STEP_CACHE_MISS, step.id, None,
            {"reason": decision.reason, "cache_key": decision.key},
        )  # fmt: skip
        recorder.step_ready(step.id, fingerprint)
        return None

    async def _difference(self, step: Step, parts: Mapping[str, str]) -> str:
        """Why no result has this key: what differs from the step's last cached result."""
        last = await last_result(self._writer, self._loaded.plan.name, step.id)
        if last is None:
            return "no earlier run of this step succeeded with cache on"
        return f"{describe(last.parts, parts)} since run {last.run_id}"


def _pick(
    candidates: list[CachedResult], step: Step, spec: CacheSpec
) -> tuple[CachedResult | None, str | None]:
    """The newest result young enough whose outputs are all still there; else why none is."""
    why: str | None = None
    now = time.time()
    for candidate in candidates:
        if spec.max_age_sec is not None and now - candidate.finished_at > spec.max_age_sec:
            why = why or (
                f"the cached result of run {candidate.run_id} is older than max_age"
                f" ({spec.max_age_sec:g}s)"
            )
            continue
        missing = [name for name in step.provides if name not in candidate.outputs]
        if missing:
            lost = ", ".join(missing)
            why = why or f"the cached result of run {candidate.run_id} lost its outputs: {lost}"
            continue
        return candidate, f"cache hit: run {candidate.run_id} attempt {candidate.attempt}"
    return None, why


def describe(old: Mapping[str, str], new: Mapping[str, str]) -> str:
    """What differs between two sets of parts, the way `engine explain` says it."""
    said: list[str] = []
    edits = changed_parts(old, new)
    if edits:
        said.append("definition changed: " + ", ".join(edits))
    if old.get(OUTPUTS) != new.get(OUTPUTS):
        said.append("consumed outputs changed")
    for prefix, noun in ((_INPUT, "input"), (_ENV, "env")):
        names = sorted({n for n in (*old, *new) if n.startswith(prefix)})
        changed = [n[len(prefix) :] for n in names if old.get(n) != new.get(n)]
        if changed:
            said.append(f"{noun} changed: " + ", ".join(_shorten(changed)))
    return "; ".join(said) or "its cache key changed"


def _shorten(names: list[str], most: int = 5) -> list[str]:
    return names if len(names) <= most else [*names[:most], f"and {len(names) - most} more"]


def hash_inputs(
    base_dir: Path, patterns: tuple[str, ...], skip: tuple[Path, ...] = ()
) -> dict[str, str]:
    """A part per file the patterns match below `base_dir` (its content's digest); a pattern that
    matches no file is a part of its own, so a file appearing later changes the key.

    `skip`: files and directories never matched (the ledger's own, engine.ledger.location).
    """
    skipped = {os.path.abspath(path) for path in skip}
    parts: dict[str, str] = {}
    for pattern in patterns:
        try:
            matched = sorted(
                path
                for path in base_dir.glob(pattern)
                if path.is_file() and not _under(os.path.abspath(path), skipped)
            )
        except (ValueError, IndexError):  # pathlib refuses some patterns ("."): no file matches
            matched = []
        if not matched:
            parts[f"{_INPUT}{pattern}"] = "no files"
        for path in matched:
            parts[_INPUT + path.relative_to(base_dir).as_posix()] = _file_digest(path)
    return parts


def _under(path: str, skipped: set[str]) -> bool:
    """Whether `path` is one of `skipped` or inside one of them."""
    if not skipped:
        return False
    while True:
        if path in skipped:
            return True
        parent = os.path.dirname(path)
        if parent == path:
            return False
        path = parent


def _file_digest(path: Path) -> str:
    hasher = hashlib.blake2b(digest_size=8)
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            hasher.update(chunk)
    return hasher.hexdigest()
