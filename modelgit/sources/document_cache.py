"""Parsed metadata documents, cached by tag object id, one file per model, for commands that
read every version.

A tag object never changes, so neither does the document its message carries: an entry never
goes stale. Parsing YAML is what reading 12,500 versions costs; this makes it a JSON load. One
file per model lets the processes that build a site's models each read and write their own.
Any problem reading or writing the cache only means the messages are parsed again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from modelgit.sources import cache_file

_FOLDER = "documents-v2"


def _name(model: str) -> str:
    digest = hashlib.sha1(model.encode(), usedforsecurity=False).hexdigest()[:16]
    return f"{_FOLDER}/{digest}.json"


def load(repo: Path, model: str) -> dict[str, list[Any]]:
    """A model's cached documents by tag object id, each `[document, signed]`."""
    return {
        oid: entry
        for oid, entry in cache_file.read(repo, _name(model)).items()
        if isinstance(entry, list)
        and len(entry) == 2
        and isinstance(entry[0], dict)
        and isinstance(entry[1], bool)
    }


def _encoded(value: Any) -> str | None:
    """`value` as JSON when JSON carries it exactly: the encoder refuses timestamps, NaN and
    infinities, and what it would change silently (a key that is not a string) is looked for.
    (Decoding the text again to compare cost twice as much as this.)"""
    try:
        text = json.dumps(value, allow_nan=False, check_circular=False)
    except (TypeError, ValueError, RecursionError):
        return None
    return text if _string_keys(value) else None


def _string_keys(value: Any) -> bool:
    """True when every mapping in `value` (documents nest at most a few levels) has only
    string keys."""
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                return False
            kind = type(item)
            if (kind is dict or kind is list) and not _string_keys(item):
                return False
    elif kind is list:
        for item in value:
            kind = type(item)
            if (kind is dict or kind is list) and not _string_keys(item):
                return False
    return True


def save(repo: Path, model: str, entries: Mapping[str, list[Any]]) -> None:
    """Write a model's cache atomically; documents JSON cannot hold exactly are left out."""
    text = _encoded(dict(entries))
    if text is None:
        kept = {oid: entry for oid, entry in entries.items() if _encoded(entry) is not None}
        text = json.dumps(kept)
    cache_file.write_text(repo, _name(model), text)
