"""Parsed metadata documents, cached by tag object id, for commands that read every version.

A tag object never changes, so neither does the document its message carries: an entry never
goes stale. Parsing YAML is what reading 12,500 versions costs; this file makes it a JSON load.
Any problem reading or writing the cache only means the messages are parsed again.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_FILE = Path("modelgit") / "documents-v1.json"


def _path(repo: Path) -> Path | None:
    git_dir = repo / ".git"
    return git_dir / _FILE if git_dir.is_dir() else None


def load(repo: Path) -> dict[str, list[Any]]:
    """Cached documents by tag object id, each `[document, signed]`."""
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
        oid: entry
        for oid, entry in cached.items()
        if isinstance(entry, list)
        and len(entry) == 2
        and isinstance(entry[0], dict)
        and isinstance(entry[1], bool)
    }


def save(repo: Path, entries: Mapping[str, list[Any]]) -> None:
    """Write the cache atomically; documents JSON cannot hold exactly are left out."""
    path = _path(repo)
    if path is None:
        return
    kept = {}
    for oid, entry in entries.items():
        try:
            if json.loads(json.dumps(entry[0])) == entry[0]:
                kept[oid] = entry
        except (TypeError, ValueError):
            continue
    try:
        path.parent.mkdir(exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".documents-")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(kept, out)
        os.replace(temporary, path)
    except OSError:
        return
