"""What each tag object says (its commit, date and tagger), cached by the tag's object id.

Tag objects are immutable, so a cached entry never goes stale: a moved or re-created tag has a
new object id. With the cache warm, reading the registry costs a bare `for-each-ref`, which does
not open the 13,500 tag objects of a large registry. The cache is a plain file inside `.git`;
any problem reading or writing it only means the tags are read from git again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from modelgit.sources import cache_file

_FILE = "tag-objects-v1.json"


class TagObject(NamedTuple):
    """The facts of one annotated tag object that the registry needs."""

    commit: str
    created_at: str
    tagger: str


def load(repo: Path) -> dict[str, list[str]]:
    """The cached tag objects of `repo` by object id, each `[commit, created_at, tagger]`."""
    return {
        oid: facts
        for oid, facts in cache_file.read(repo, _FILE).items()
        if isinstance(facts, list) and len(facts) == 3 and all(isinstance(f, str) for f in facts)
    }


def save(repo: Path, entries: Mapping[str, Sequence[str]]) -> None:
    """Write the cache atomically (a concurrent reader sees the old file or the new one)."""
    cache_file.write(repo, _FILE, {oid: list(facts) for oid, facts in entries.items()})
