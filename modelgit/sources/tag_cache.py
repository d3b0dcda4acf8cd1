"""What each tag object says (its commit, date and tagger), cached by the tag's object id.

Tag objects are immutable, so a cached entry never goes stale: a moved or re-created tag has a
new object id. With the cache warm, reading the registry costs a bare `for-each-ref`, which does
not open the 13,500 tag objects of a large registry. The cache is a plain file inside `.git`;
any problem reading or writing it only means the tags are read from git again.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import NamedTuple

_FILE = Path("modelgit") / "tag-objects-v1"


class TagObject(NamedTuple):
    """The facts of one annotated tag object that the registry needs."""

    commit: str
    created_at: str
    tagger: str


def _path(repo: Path) -> Path | None:
    git_dir = repo / ".git"
    return git_dir / _FILE if git_dir.is_dir() else None  # worktrees and bare repos: no cache


def load(repo: Path) -> dict[str, TagObject]:
    """The cached tag objects of `repo` by object id (empty when there is no cache)."""
    path = _path(repo)
    if path is None:
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    cached = {}
    for line in text.splitlines():
        fields = line.split("\0")
        if len(fields) == 4:
            cached[fields[0]] = TagObject(fields[1], fields[2], fields[3])
    return cached


def save(repo: Path, entries: dict[str, TagObject]) -> None:
    """Write the cache atomically (a concurrent reader sees the old file or the new one)."""
    path = _path(repo)
    if path is None:
        return
    lines = "".join(
        f"{oid}\0{tag.commit}\0{tag.created_at}\0{tag.tagger}\n"
        for oid, tag in entries.items()
        if "\n" not in tag.tagger and "\0" not in tag.tagger
    )
    try:
        path.parent.mkdir(exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tag-objects-")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(lines)
        os.replace(temporary, path)
    except OSError:
        return  # a read-only repository: the registry is still read, only not cached
