"""`site`: the whole registry as static HTML pages, rewritten only where something changed."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
from modelgit.pages.site import SiteEvent, SiteModel, pages
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


Manifest = dict[str, dict[str, Any]]


def _empty_manifest() -> Manifest:
    return {"pages": {}, "keys": {}, "stats": {}}


def _previous_manifest(out: Path) -> Manifest:
    marker = out / MANIFEST
    if not out.exists():
        return _empty_manifest()
    if out.is_symlink() or not out.is_dir():
        raise OutputFileError(f"{out} is not a directory modelgit can write a site into")
    if not marker.is_file():
        if any(out.iterdir()):
            raise OutputFileError(
                f"{out} holds files modelgit did not write; choose an empty or new folder with -o"
            )
        return _empty_manifest()
    try:
        recorded = json.loads(marker.read_text())
    except (ValueError, OSError) as exc:
        raise OutputFileError(f"{marker} does not parse; remove the folder to rebuild") from exc
    found: Manifest = {
        section: {str(k): str(v) for k, v in (recorded.get(section) or {}).items()}
        for section in ("pages", "keys")
    }
    # A manifest written before stats were recorded has none: each page is checked once.
    found["stats"] = {
        str(k): (int(v[0]), int(v[1]))
        for k, v in (recorded.get("stats") or {}).items()
        if isinstance(v, list) and len(v) == 2
    }
    return found


Stat = tuple[int, int]  # (size, mtime_ns): what tells an edited page from the one we wrote


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return path.lstat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise OutputFileError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _check_paths(out: Path, relatives: list[str]) -> dict[str, Stat | None]:
    """Refuse, before anything is written, a symlink at any file or folder the build touches;
    return each existing file's (size, mtime_ns)."""
    folders: set[str] = set()
    for relative in relatives:
        parts = relative.split("/")[:-1]
        folders.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    for folder in sorted(folders):
        found = _lstat(out / folder)
        if found is not None and stat.S_ISLNK(found.st_mode):
            raise OutputFileError(f"{out / folder} is a symlink; modelgit never writes through one")
    stats: dict[str, Stat | None] = {}
    for relative in relatives:
        found = _lstat(out / relative)
        if found is not None and stat.S_ISLNK(found.st_mode):
            raise OutputFileError(
                f"{out / relative} is a symlink; modelgit never writes through one"
            )
        regular = found is not None and stat.S_ISREG(found.st_mode)
        stats[relative] = (found.st_size, found.st_mtime_ns) if found and regular else None
    return stats


def _write(out: Path, relative: str, content: bytes) -> Stat:
    """Write a page beside its place, then move it in (a reader never sees half a page)."""
    path = out / relative
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(content)
            os.chmod(temporary, 0o644)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        written = path.lstat()
    except OSError as exc:
        raise OutputFileError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return written.st_size, written.st_mtime_ns


def _same_bytes(path: Path, content: bytes) -> bool:
    try:
        return path.read_bytes() == content
    except OSError:
        return False


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
    heading = title or f"Model registry: {root.name}"
    planned = list(pages(models, heading))
    total = len(planned)
    removed = sorted(set(before["pages"]) - {relative for relative, _, _ in planned})
    on_disk = _check_paths(target, [r for r, _, _ in planned] + removed + [MANIFEST])
    recorded: dict[str, str] = {}
    keys: dict[str, str] = {}
    stats: dict[str, Stat] = {}
    written: list[str] = []
    for done, (relative, key, render) in enumerate(planned, start=1):
        found = on_disk[relative]
        # The page on disk is the one we wrote only if its stat is the one we recorded: a
        # person's edit (or a restore) changes size or mtime and the page is checked again.
        intact = (
            found is not None
            and relative in before["pages"]
            and before["stats"].get(relative) == found
        )
        if intact and key is not None and before["keys"].get(relative) == key:
            recorded[relative] = before["pages"][relative]
        else:
            content = render().encode()
            recorded[relative] = hashlib.sha1(content, usedforsecurity=False).hexdigest()
            current = (
                before["pages"].get(relative) == recorded[relative]
                if intact
                else found is not None and _same_bytes(target / relative, content)
            )
            if not current:
                found = _write(target, relative, content)
                written.append(relative)
        if key is not None:
            keys[relative] = key
        if found is not None:
            stats[relative] = found
        if progress is not None and (done % 200 == 0 or done == total):
            progress("pages", done, total)
    for relative in removed:
        stale = target / relative
        if on_disk[relative] is not None:
            try:
                stale.unlink()
            except OSError as exc:
                raise OutputFileError(f"cannot remove {stale}: {exc.strerror or exc}") from exc
    manifest = {"pages": recorded, "keys": keys, "stats": stats}
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
