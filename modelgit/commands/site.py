"""`site`: the whole registry as static HTML pages, rewritten only where something changed."""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from modelgit.analysis.migration import migration_notes
from modelgit.errors import ModelgitError, OutputFileError
from modelgit.model.metrics import directions_of, key_metric
from modelgit.pages.cards import (
    CardLineage,
    ModelCard,
    metric_rows,
    production_stage,
    recorded_lineage,
)
from modelgit.pages.site import SiteEvent, SiteModel, page_count, pages
from modelgit.registry import state as registry
from modelgit.registry.documents import read_documents
from modelgit.registry.lookup import declared, root_of
from modelgit.registry.state import ModelState
from modelgit.registry.versions import Version
from modelgit.sources import config, git
from modelgit.values import Progress

# Written into the output folder: which pages modelgit wrote, and their content hashes.
MANIFEST = ".modelgit-site.json"


@dataclass(frozen=True)
class SiteResult:
    """What `site` built: where, how many pages, which were (re)written."""

    out: Path
    models: int
    versions: int
    pages: int
    written: tuple[str, ...]
    removed: tuple[str, ...]
    seconds: float

    @property
    def unchanged(self) -> int:
        """Pages whose content was already there."""
        return self.pages - len(self.written)


def _cards(
    root: Path,
    state: ModelState,
    documents: dict[str, tuple[dict | None, str | None, bool]],
    directions: dict[str, str],
    production: str | None,
) -> tuple[ModelCard, ...]:
    production_version = state.stages.get(production) if production else None
    production_tag = state.version(production_version or "")
    production_metadata = (
        (documents[production_tag.tag][0] or {}).get("metrics") if production_tag else None
    )
    cards: list[ModelCard] = []
    previous: ModelCard | None = None
    for event in state.versions:
        document, problem, signed = documents[event.tag]
        metadata = document or {}
        version = Version(event.version or "0.0.0")
        major = previous is not None and version.major > previous.version.major
        card = ModelCard(
            model=state.name,
            version=version,
            tag=event.tag,
            commit=event.commit,
            metadata=metadata,
            metrics=metric_rows(
                metadata.get("metrics") or {},
                directions,
                (previous.metadata.get("metrics") or {}) if previous else None,
                production_metadata,
            ),
            previous_version=previous.version if previous else None,
            production_stage=production,
            production_version=production_version,
            stages=tuple(s for s, held in state.stages.items() if held == event.version),
            deprecated=state.deprecated,
            signed=signed,
            signature=problem
            or ("signed (run `modelgit verify` to check)" if signed else "unsigned"),
            lineage=recorded_lineage(state.name, metadata),
            migration=tuple(migration_notes(previous.metadata, metadata))
            if major and previous
            else (),
        )
        cards.append(card)
        previous = card
    return tuple(cards)


def _head_lineage(root: Path) -> dict[str, CardLineage]:
    """Each declared model's lineage as HEAD's pipeline has it (one pipeline load)."""
    from modelgit.analysis import lineage
    from modelgit.commands.card import graph_lineage
    from modelgit.commands.lineage import graph_at
    from modelgit.sources.tree import Tree

    head = git.resolve_commit(root, "HEAD")
    if head is None:
        return {}
    try:
        _pipe, graph = graph_at(Tree(root, head))
    except ModelgitError:
        return {}
    found = {}
    for _node, data in graph.nodes(data=True):
        if data.get("type") == "model":
            found[data["name"]] = graph_lineage(lineage.upstream(graph, data["name"]))
    return found


# Bump when a version page's layout changes, so every page is rendered again once.
PAGE_FORMAT = "1"


def _page_keys(
    state: ModelState,
    cards: tuple[ModelCard, ...],
    documents: dict[str, tuple[dict | None, str | None, bool]],
    production: str | None,
) -> tuple[str, ...]:
    """Per version: a digest of what its page shows (tag objects are immutable, so their ids
    stand for their documents)."""
    holder = state.version(state.stages.get(production) or "") if production else None
    keys = []
    previous = ""
    for event, card in zip(state.versions, cards, strict=True):
        parts = [
            PAGE_FORMAT, state.name, event.object_id, previous,
            holder.object_id if holder else "", ",".join(card.stages), str(state.deprecated),
            str(documents[event.tag][1]),
        ]  # fmt: skip
        keys.append(hashlib.sha1("\0".join(parts).encode(), usedforsecurity=False).hexdigest())
        previous = event.object_id
    return tuple(keys)


def _ordered_stages(state: ModelState, configured: tuple[str, ...]) -> dict[str, str | None]:
    names = [s for s in configured] + sorted(s for s in state.stages if s not in configured)
    return {name: state.stages.get(name) for name in names}


def collect(root: Path) -> list[SiteModel]:
    """Every model of the registry as the site shows it."""
    states = registry.read(root)
    settings = config.load(root)
    order = settings.promotion_order or settings.stages
    production = production_stage(settings.stages, settings.promotion_order)
    events = [event for state in states.values() for event in state.versions]
    documents = read_documents(root, events)
    declarations = declared(root)
    lineages = _head_lineage(root)
    models = []
    for name in sorted(states):
        state = states[name]
        declaration = declarations.get(name)
        directions = directions_of(declaration) if declaration else {}
        cards = _cards(root, state, documents, directions, production)
        keys = _page_keys(state, cards, documents, production)
        latest_metrics = cards[-1].metadata.get("metrics") or {} if cards else {}
        preferred = declaration.meta.get("key_metric") if declaration else None
        models.append(
            SiteModel(
                name=name,
                description=declaration.desc if declaration else "",
                cards=cards,
                stages=_ordered_stages(state, order),
                events=tuple(
                    SiteEvent(e.created_at, e.tag, e.action.value, e.stage, e.version)
                    for e in state.history()
                ),
                key_metric=key_metric(latest_metrics, directions, preferred),
                lineage=lineages.get(name),
                deprecated=state.deprecated,
                created={str(e.version): e.created_at for e in state.versions},
                keys=keys,
            )
        )
    return models


def _previous_manifest(out: Path) -> dict[str, dict[str, str]]:
    marker = out / MANIFEST
    if not out.exists():
        return {"pages": {}, "keys": {}}
    if out.is_symlink() or not out.is_dir():
        raise OutputFileError(f"{out} is not a directory modelgit can write a site into")
    if not marker.is_file():
        if any(out.iterdir()):
            raise OutputFileError(
                f"{out} holds files modelgit did not write; choose an empty or new folder with -o"
            )
        return {"pages": {}, "keys": {}}
    try:
        recorded = json.loads(marker.read_text())
    except ValueError as exc:
        raise OutputFileError(f"{marker} does not parse; remove the folder to rebuild") from exc
    return {
        section: {str(k): str(v) for k, v in (recorded.get(section) or {}).items()}
        for section in ("pages", "keys")
    }


def _write(out: Path, relative: str, content: bytes) -> None:
    path = out / relative
    for parent in [path, *path.parents]:
        if parent == out:
            break
        if parent.is_symlink():
            raise OutputFileError(f"{parent} is a symlink; modelgit never writes through one")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(content)
    os.replace(temporary, path)


def site(
    repo: Path | str = ".",
    out: Path | str = "_site",
    *,
    title: str | None = None,
    progress: Progress | None = None,
) -> SiteResult:
    """Build the registry's static site into `out`, writing only pages whose content changed."""
    started = time.perf_counter()
    root = root_of(repo)
    target = Path(out)
    before = _previous_manifest(target)
    models = collect(root)
    total = page_count(models)
    recorded: dict[str, str] = {}
    keys: dict[str, str] = {}
    written: list[str] = []
    heading = title or f"Model registry: {root.name}"
    for done, (relative, key, render) in enumerate(pages(models, heading), start=1):
        unchanged = (
            key is not None
            and before["keys"].get(relative) == key
            and relative in before["pages"]
            and (target / relative).is_file()
        )
        if unchanged:
            recorded[relative] = before["pages"][relative]
        else:
            content = render().encode()
            recorded[relative] = hashlib.sha1(content, usedforsecurity=False).hexdigest()
            if (
                before["pages"].get(relative) != recorded[relative]
                or not (target / relative).is_file()
            ):
                _write(target, relative, content)
                written.append(relative)
        if key is not None:
            keys[relative] = key
        if progress is not None and (done % 200 == 0 or done == total):
            progress("pages", done, total)
    removed = sorted(set(before["pages"]) - set(recorded))
    for relative in removed:
        stale = target / relative
        if stale.is_file() and not stale.is_symlink():
            stale.unlink()
    manifest = {"pages": recorded, "keys": keys}
    _write(target, MANIFEST, json.dumps(manifest, indent=0, sort_keys=True).encode())
    return SiteResult(
        out=target,
        models=len(models),
        versions=sum(len(m.cards) for m in models),
        pages=total,
        written=tuple(written),
        removed=tuple(removed),
        seconds=time.perf_counter() - started,
    )
