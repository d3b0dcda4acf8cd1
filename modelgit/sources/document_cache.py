"""Parsed metadata documents, cached by tag object id, for commands that read every version.

A tag object never changes, so neither does the document its message carries: an entry never
goes stale. Parsing YAML is what reading 12,500 versions costs; this file makes it a JSON load.
Any problem reading or writing the cache only means the messages are parsed again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from modelgit.sources import cache_file

_FILE = "documents-v1.json"


def load(repo: Path) -> dict[str, list[Any]]:
    """Cached documents by tag object id, each `[document, signed]`."""
    return {
        oid: entry
        for oid, entry in cache_file.read(repo, _FILE).items()
        if isinstance(entry, list)
        and len(entry) == 2
        and isinstance(entry[0], dict)
        and isinstance(entry[1], bool)
    }


def save(repo: Path, entries: Mapping[str, list[Any]]) -> None:
    """Write the cache atomically; documents JSON cannot hold exactly are left out."""
    kept = {}
    for oid, entry in entries.items():
        try:
            if json.loads(json.dumps(entry[0])) == entry[0]:
                kept[oid] = entry
        except (TypeError, ValueError):
            continue
    cache_file.write(repo, _FILE, kept)
