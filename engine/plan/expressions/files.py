"""`hashFiles(pattern, ...)`: one SHA-256 over the files of the plan's directory that match.

As GitHub Actions' hashFiles() over its workspace: glob patterns (`**` for any depth, `!` before
a pattern to leave its matches out), the files in path order, each file's SHA-256 fed into one
SHA-256; '' when no file matches. Only the plan's own directory is read: a pattern cannot leave
it, and a symlink that leads out of it is left out.
"""

from __future__ import annotations

import glob
import hashlib
import os

MAX_FILES = 10_000
_CHUNK = 1 << 20


def check_pattern(pattern: str) -> str | None:
    """Why a pattern cannot be used (it leaves the plan's directory); None when it can."""
    bare = pattern.removeprefix("!")
    if not bare:
        return "hashFiles() was given an empty pattern"
    if os.path.isabs(bare) or ".." in bare.replace("\\", "/").split("/"):
        return f"hashFiles() looks only inside the plan's directory, not at {pattern!r}"
    return None


def hash_files(base_dir: str | None, patterns: list[str]) -> str:
    """The hash of the matching files; ValueError with one sentence for a bad pattern."""
    if base_dir is None:
        raise ValueError("hashFiles() needs the plan's directory, which is not known here")
    root = os.path.realpath(base_dir)
    included: set[str] = set()
    excluded: set[str] = set()
    for pattern in patterns:
        problem = check_pattern(pattern)
        if problem is not None:
            raise ValueError(problem)
        target = excluded if pattern.startswith("!") else included
        target.update(glob.glob(pattern.removeprefix("!"), root_dir=root, recursive=True))
    files = sorted(
        path
        for path in included - excluded
        if os.path.isfile(os.path.join(root, path)) and _inside(root, path)
    )
    if len(files) > MAX_FILES:
        raise ValueError(f"hashFiles() matched more than {MAX_FILES:,} files")
    if not files:
        return ""
    combined = hashlib.sha256()
    for path in files:
        digest = hashlib.sha256()
        with open(os.path.join(root, path), "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
        combined.update(digest.digest())
    return combined.hexdigest()


def _inside(root: str, path: str) -> bool:
    real = os.path.realpath(os.path.join(root, path))
    return real == root or real.startswith(root + os.sep)
