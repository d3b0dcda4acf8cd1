"""Many models read at once from their listed tags, with every version's metadata, for the
commands that show them all (`site`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelgit.registry.lookup import metadata_of
from modelgit.registry.state import ModelState, build_state, events_from_tags
from modelgit.registry.tags import Action, tag_fields
from modelgit.sources import document_cache, git
from modelgit.sources.tag_cache import TagObject

# Per tag name: the document (None when it does not parse), the problem, whether it is signed.
Documents = dict[str, tuple[dict[str, Any] | None, str | None, bool]]


@dataclass(frozen=True)
class ModelsRead:
    """Models' states and their versions' documents, and the tag objects read to get them
    that the tag-object cache did not know (for the caller to remember)."""

    states: dict[str, ModelState]
    documents: Documents
    tag_objects: dict[str, TagObject]


def read_models(
    root: Path,
    listed: Mapping[str, Sequence[tuple[str, str]]],
    known: Mapping[str, Sequence[str]],
) -> ModelsRead:
    """The models' states from their tags (name, object id), and every registered version's
    document (deprecated ones included), reading with one `cat-file` only the tag objects that
    neither `known` (what each tag object says, by id) nor each model's document cache
    answers; each document cache then keeps exactly its model's versions."""
    cached = {model: document_cache.load(root, model) for model in listed}
    wanted = [
        object_id
        for model, tags in listed.items()
        for name, object_id in tags
        if object_id not in known or (object_id not in cached[model] and _registers(name))
    ]
    raws = dict(zip(wanted, git.cat_objects(root, wanted), strict=True))
    read: dict[str, TagObject] = {}
    for object_id, raw in raws.items():
        header = git.tag_header(raw) if raw is not None and object_id not in known else None
        if header is not None:
            read[object_id] = header
    refs = []
    for tags in listed.values():
        for name, object_id in tags:
            facts = known.get(object_id) or read.get(object_id)
            # An unreadable tag object still names its version: its page says what is wrong.
            refs.append(git.TagRef(name, object_id, *(facts or ("", "", ""))))
    events = events_from_tags(refs)
    states = {model: build_state(model, events.get(model, [])) for model in listed}
    documents: Documents = {}
    for model, state in states.items():
        kept: dict[str, list[Any]] = {}
        for event in state.registrations():
            entry = cached[model].get(event.object_id)
            if entry is not None:
                documents[event.tag] = (entry[0], None, entry[1])
                kept[event.object_id] = entry
                continue
            document, problem, signed = metadata_of(event, raws.get(event.object_id))
            documents[event.tag] = (document, problem, signed)
            if document is not None and problem is None:
                kept[event.object_id] = [document, signed]
        if kept.keys() != cached[model].keys():
            document_cache.save(root, model, kept)
    return ModelsRead(states, documents, read)


def _registers(name: str) -> bool:
    fields = tag_fields(name)
    return fields is not None and fields[1] is Action.REGISTER
