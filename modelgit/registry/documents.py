"""Every version's metadata of many models at once, for the commands that show them all
(`site`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelgit.registry.lookup import read_metadata_many
from modelgit.registry.state import Event
from modelgit.sources import document_cache

# Per tag name: the document (None when it does not parse), the problem, whether it is signed.
Documents = dict[str, tuple[dict[str, Any] | None, str | None, bool]]


def read_documents(root: Path, models: dict[str, list[Event]]) -> Documents:
    """`read_metadata_many` for the models' events (one `cat-file` for all of them), answered
    from each model's document cache where it can be; each cache then keeps exactly its
    model's events."""
    found: Documents = {}
    kept: dict[str, dict[str, list[Any]]] = {}
    changed = set()
    missing = []
    for model, events in models.items():
        cached = document_cache.load(root, model)
        kept[model] = {}
        for event in events:
            entry = cached.get(event.object_id)
            if entry is None:
                missing.append((model, event))
            else:
                found[event.tag] = (entry[0], None, entry[1])
                kept[model][event.object_id] = entry
        if len(kept[model]) != len(cached):
            changed.add(model)
    parsed = read_metadata_many(root, [event for _, event in missing])
    for model, event in missing:
        document, problem, signed = parsed[event.tag]
        found[event.tag] = parsed[event.tag]
        if document is not None and problem is None:
            kept[model][event.object_id] = [document, signed]
            changed.add(model)
    for model in sorted(changed):
        document_cache.save(root, model, kept[model])
    return found
