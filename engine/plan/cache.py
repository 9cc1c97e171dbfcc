"""Plans that passed validation before, kept so that running one again need not import pydantic.

Like Python's .pyc files: an entry is keyed by everything the verdict depends on (the engine's own
code, the plan file's bytes and the variables given), so any change to one of them is a miss and a
full validation. An entry holds the validated plan in the runtime form of engine.plan.spec. It lives
in the ledger directory (`.ledger/cache/`), and a damaged entry is just a miss.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import engine
from engine.plan.document import read_plan_text
from engine.plan.spec import LoadedPlan, graphs_of, plan_from_dict, plan_to_dict

CACHE_FORMAT = 1
MAX_ENTRIES = 64  # plans x variable sets kept; the least recently used go first


def load_plan_cached(path: Path, given_vars: Mapping[str, str], cache_dir: Path) -> LoadedPlan:
    """The plan at `path`, from the cache when this exact plan was validated before."""
    text = read_plan_text(path)
    key = cache_key(text, given_vars)
    entry = cache_dir / f"{key}.json"
    loaded = _read(entry, key, path)
    if loaded is not None:
        with contextlib.suppress(OSError):
            os.utime(entry)  # recently used: pruned last
        return loaded
    from engine.plan.loader import load_text  # the full validation, pydantic and all

    loaded = load_text(text, path, given_vars)
    # A plan step's verdict also rests on its child plan's file, which the key does not cover.
    if not any(step.plan is not None for step in loaded.plan.all_steps()):
        _store(cache_dir, entry, key, loaded)
    return loaded


def cache_key(text: str, given_vars: Mapping[str, str]) -> str:
    digest = hashlib.sha256(_engine_fingerprint().encode())
    digest.update(b"\0" + text.encode("utf-8", errors="surrogatepass"))
    digest.update(b"\0" + json.dumps(sorted(given_vars.items())).encode())
    return digest.hexdigest()


@cache
def _engine_fingerprint() -> str:
    """The engine's version and the size and mtime of each of its source files.

    A change to the code that judges plans must invalidate every verdict, even in a development
    checkout where the version number stays the same.
    """
    root = os.path.dirname(engine.__file__)
    parts = [f"format {CACHE_FORMAT}", engine.__version__]
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = sorted(d for d in subdirectories if d != "__pycache__")
        for name in sorted(files):
            if name.endswith((".py", ".json")):
                stat = os.stat(os.path.join(directory, name))  # follows the schema's symlink
                parts.append(f"{directory}/{name}:{stat.st_size}:{stat.st_mtime_ns}")
    return "\n".join(parts)


def _read(entry: Path, key: str, path: Path) -> LoadedPlan | None:
    try:
        with open(entry, encoding="utf-8") as handle:
            data: dict[str, Any] = json.load(handle)
        if data.get("format") != CACHE_FORMAT or data.get("key") != key:
            return None
        plan = plan_from_dict(data["plan"])
        return LoadedPlan(
            plan=plan,
            source=str(path),
            base_dir=path.resolve().parent,
            vars=dict(data["vars"]),
            document=data["document"],
            hash=data["hash"],
            graphs=graphs_of(plan),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _store(cache_dir: Path, entry: Path, key: str, loaded: LoadedPlan) -> None:
    """Write the entry atomically; a cache that cannot be written only costs speed."""
    data = {
        "format": CACHE_FORMAT,
        "key": key,
        "plan": plan_to_dict(loaded.plan),
        "vars": loaded.vars,
        "document": loaded.document,
        "hash": loaded.hash,
    }
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=cache_dir, suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False, separators=(",", ":"))
        os.replace(temporary, entry)
    except (OSError, ValueError):
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        return
    _prune(cache_dir)


def _prune(cache_dir: Path) -> None:
    """Keep the MAX_ENTRIES most recently used entries."""
    with contextlib.suppress(OSError):  # another engine may be pruning the same directory
        entries = sorted(cache_dir.glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
        for stale in entries[: max(0, len(entries) - MAX_ENTRIES)]:
            stale.unlink(missing_ok=True)
