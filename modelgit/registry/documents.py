"""Every version's metadata at once, for the commands that show them all (`site`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelgit.registry.lookup import read_metadata_many
from modelgit.registry.state import Event
from modelgit.sources import document_cache


def read_documents(
    root: Path, events: list[Event]
) -> dict[str, tuple[dict[str, Any] | None, str | None, bool]]:
    """`read_metadata_many`, answered from the document cache where it can be."""
    cached = document_cache.load(root)
    found: dict[str, tuple[dict[str, Any] | None, str | None, bool]] = {}
    missing = []
    for event in events:
        entry = cached.get(event.object_id)
        if entry is None:
            missing.append(event)
        else:
            found[event.tag] = (entry[0], None, entry[1])
    if missing:
        parsed = read_metadata_many(root, missing)
        for event in missing:
            document, problem, signed = parsed[event.tag]
            found[event.tag] = parsed[event.tag]
            if document is not None and problem is None:
                cached[event.object_id] = [document, signed]
        document_cache.save(root, cached)
    return found
