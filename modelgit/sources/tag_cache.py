"""What each tag object says (its commit, date and tagger), cached by the tag's object id.

Tag objects are immutable, so a cached entry never goes stale: a moved or re-created tag has a
new object id. With the cache warm, reading the registry costs a bare `for-each-ref`, which does
not open the 13,500 tag objects of a large registry. The cache is a plain file inside `.git`;
any problem reading or writing it only means the tags are read from git again.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

_FILE = Path("modelgit") / "tag-objects-v1.json"


class TagObject(NamedTuple):
    """The facts of one annotated tag object that the registry needs."""

    commit: str
    created_at: str
    tagger: str


def _path(repo: Path) -> Path | None:
    git_dir = repo / ".git"
    return git_dir / _FILE if git_dir.is_dir() else None  # worktrees and bare repos: no cache


def load(repo: Path) -> dict[str, list[str]]:
    """The cached tag objects of `repo` by object id, each `[commit, created_at, tagger]`."""
    path = _path(repo)
    if path is None:
        return {}
    try:
        cached = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    if not isinstance(cached, dict):
        return {}
    return {
        oid: facts
        for oid, facts in cached.items()
        if isinstance(facts, list) and len(facts) == 3 and all(isinstance(f, str) for f in facts)
    }


def save(repo: Path, entries: Mapping[str, Sequence[str]]) -> None:
    """Write the cache atomically (a concurrent reader sees the old file or the new one)."""
    path = _path(repo)
    if path is None:
        return
    try:
        path.parent.mkdir(exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tag-objects-")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump({oid: list(facts) for oid, facts in entries.items()}, out)
        os.replace(temporary, path)
    except OSError:
        return  # a read-only repository: the registry is still read, only not cached
