"""`site`: the whole registry as static HTML pages, rewritten only where something changed.

A large registry is built by a pool of forked processes, one model at a time each; every page
is a function of its model alone, so the pages are the same bytes however many processes
build them.
"""

from __future__ import annotations

import functools
import hashlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from modelgit.analysis.migration import migration_notes
from modelgit.analysis.pipeline_graph import pipeline_graph, upstream
from modelgit.errors import ModelgitError, OutputFileError
from modelgit.model.metrics import direction_of, directions_of, key_metric
from modelgit.pages.cards import (
    CardLineage,
    ModelCard,
    drawn_lineage,
    metric_rows,
    production_stage,
    recorded_lineage,
)
from modelgit.pages.site import (
    IndexEntry,
    SiteEvent,
    SiteModel,
    index_entry,
    index_page,
    lineage_page,
    model_folder,
    model_page,
    style_sheet,
    version_file,
    version_page,
)
from modelgit.registry.deprecations import deregistrations
from modelgit.registry.deprecations import reasons as deprecation_reasons
from modelgit.registry.documents import Documents, read_models
from modelgit.registry.lookup import declared, root_of
from modelgit.registry.state import (
    ModelState,
    registered_versions,
    tags_by_model,
    without_cycle_collection,
)
from modelgit.registry.tags import Action
from modelgit.registry.versions import Version
from modelgit.sources import config, git, site_output, tag_cache
from modelgit.sources.pipeline import Artifact
from modelgit.sources.site_output import Manifest, Stat
from modelgit.values import Progress

# Enum's `.value` is a slow descriptor; a registry's history reads it per event.
_ACTION_TEXT = {action: action.value for action in Action}
# Below this many versions a pool costs more than it saves.
POOL_THRESHOLD = 1000


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
    processes: int = 1  # how many processes built the models' pages
    deprecated: int = 0  # how many of the versions are deprecated (each has its page too)

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
    reasons: dict[str, str],
) -> tuple[ModelCard, ...]:
    """Every registered version's card, deprecated ones included, lowest first; each compared
    with the version its metadata records as previous, as `card` compares it."""
    from modelgit.commands.card import breaking_commits, recorded_previous

    registrations = state.registrations()
    production_version = state.stages.get(production) if production else None
    production_tag = state.version(production_version or "")
    production_metadata = (
        (documents[production_tag.tag][0] or {}).get("metrics") if production_tag else None
    )
    # Each metric's direction once per model, not once per version.
    names = {name for event in registrations for name in _metrics_of(documents[event.tag][0])}
    directions = {
        name: found for name in names if (found := direction_of(name, directions)) is not None
    }
    registered = {str(event.version): event for event in registrations}
    built: dict[str, ModelCard] = {}
    active_below: ModelCard | None = None  # the highest active version below this one
    for event in registrations:
        document, problem, signed = documents[event.tag]
        metadata = document or {}
        version = Version(event.version or "0.0.0")
        recorded = recorded_previous(registered, event, metadata)
        previous = built[str(recorded.version)] if recorded is not None else active_below
        major = previous is not None and version.major > previous.version.major
        retired = state.is_deregistered(event.version)
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
            deprecated=state.deprecated or retired,
            version_deprecated=retired,
            deprecation_reason=reasons.get(str(version), ""),
            signed=signed,
            signature=problem
            or ("signed (run `modelgit verify` to check)" if signed else "unsigned"),
            lineage=recorded_lineage(state.name, metadata),
            migration=tuple(migration_notes(previous.metadata, metadata))
            if major and previous
            else (),
            breaking_commits=breaking_commits(root, previous.commit, event.commit)
            if major and previous
            else (),
        )
        built[str(version)] = card
        if not retired:
            active_below = card
    return tuple(built.values())


def _metrics_of(document: dict | None) -> dict:
    metrics = (document or {}).get("metrics")
    return metrics if isinstance(metrics, dict) else {}


def _head_lineage(root: Path) -> dict[str, CardLineage]:
    """Each declared model's lineage as HEAD's pipeline has it (one pipeline load), but a
    model whose upstream has a cycle (its page then draws what its latest version records)."""
    from modelgit.sources.pipeline import load, read_artifacts
    from modelgit.sources.tree import Tree

    head = git.resolve_commit(root, "HEAD")
    if head is None:
        return {}
    try:
        pipe = load(Tree(root, head))
        graph = pipeline_graph(pipe, read_artifacts(pipe.dvcfiles))
    except ModelgitError:
        return {}
    found = {}
    for data in graph.nodes.values():
        if data.get("type") == "model":
            drawn = drawn_lineage(upstream(graph, data["name"]))
            if drawn is not None:
                found[data["name"]] = drawn
    return found


# Bump when a version page's layout changes, so every page is rendered again once.
PAGE_FORMAT = "2"


def _page_keys(
    state: ModelState,
    cards: tuple[ModelCard, ...],
    documents: dict[str, tuple[dict | None, str | None, bool]],
    production: str | None,
) -> tuple[str, ...]:
    """Per version: a digest of what its page shows (tag objects are immutable, so their ids
    stand for their documents)."""
    holder = state.version(state.stages.get(production) or "") if production else None
    registrations = state.registrations()
    objects = {str(e.version): e.object_id for e in registrations}
    keys = []
    for event, card in zip(registrations, cards, strict=True):
        parts = [
            PAGE_FORMAT, state.name, event.object_id,
            objects.get(str(card.previous_version), ""),
            holder.object_id if holder else "", ",".join(card.stages), str(state.deprecated),
            str(card.version_deprecated), card.deprecation_reason, str(documents[event.tag][1]),
        ]  # fmt: skip
        keys.append(hashlib.sha1("\0".join(parts).encode(), usedforsecurity=False).hexdigest())
    return tuple(keys)


def _ordered_stages(state: ModelState, configured: tuple[str, ...]) -> dict[str, str | None]:
    names = [s for s in configured] + sorted(s for s in state.stages if s not in configured)
    return {name: state.stages.get(name) for name in names}


@dataclass(frozen=True)
class _Job:
    """Everything building a model's pages needs; read by the forked workers, never changed."""

    root: Path
    out: Path
    before: Manifest
    on_disk: dict[str, Stat | None]
    tags: dict[str, list[tuple[str, str]]]  # per model: (tag name, object id)
    tag_objects: dict[str, list[str]]  # what the tag-object cache knew
    order: tuple[str, ...]
    production: str | None
    declarations: dict[str, Artifact]


@dataclass(frozen=True)
class _Page:
    """One page of the build: its content hash, input key, stat on disk, and whether this
    build wrote it."""

    relative: str
    digest: str
    key: str | None
    stat: Stat | None
    written: bool


@dataclass(frozen=True)
class _Built:
    """A model's pages, its front-page row, and the lineage its latest version records."""

    pages: tuple[_Page, ...]
    entry: IndexEntry
    lineage: CardLineage


@dataclass(frozen=True)
class _GroupBuilt:
    """A group's models built, and the tag objects read for them that the cache lacked."""

    models: dict[str, _Built]
    tag_objects: dict[str, tag_cache.TagObject]


# The job of the current build, set before the pool forks so that workers inherit it.
_JOB: _Job | None = None


def _put(job: _Job, relative: str, key: str | None, render: Callable[[], str]) -> _Page:
    """Render and write a page unless the page on disk is the one its inputs would give."""
    found = job.on_disk.get(relative)
    before = job.before
    # The page on disk is the one we wrote only if its stat is the one we recorded: a person's
    # edit (or a restore) changes size or mtime and the page is checked again.
    intact = found is not None and before.stats.get(relative) == found
    if intact and key is not None and before.keys.get(relative) == key:
        return _Page(relative, before.pages[relative], key, found, False)
    content = render().encode()
    digest = hashlib.sha1(content, usedforsecurity=False).hexdigest()
    if intact:
        current = before.pages.get(relative) == digest
    else:
        current = found is not None and _same_bytes(job.out / relative, content)
    if current:
        return _Page(relative, digest, key, found, False)
    written = site_output.write_page(job.out, relative, content, exists=found is not None)
    return _Page(relative, digest, key, written, True)


def _same_bytes(path: Path, content: bytes) -> bool:
    try:
        return path.read_bytes() == content
    except OSError:
        return False


def _site_model(
    job: _Job, state: ModelState, documents: Documents, reasons: dict[str, str]
) -> SiteModel:
    declaration = job.declarations.get(state.name)
    directions = directions_of(declaration) if declaration else {}
    cards = _cards(job.root, state, documents, directions, job.production, reasons)
    active = [card for card in cards if not card.version_deprecated]
    latest_metrics = active[-1].metadata.get("metrics") or {} if active else {}
    preferred = declaration.meta.get("key_metric") if declaration else None
    return SiteModel(
        name=state.name,
        description=declaration.desc if declaration else "",
        cards=cards,
        stages=_ordered_stages(state, job.order),
        events=tuple(
            SiteEvent(
                e.created_at,
                e.tag,
                _ACTION_TEXT[e.action],
                e.stage,
                e.version,
                state.is_deregistered(e.version),
            )
            for e in state.history()
        ),
        key_metric=key_metric(latest_metrics, directions, preferred),
        deprecated=state.deprecated,
        created={str(e.version): e.created_at for e in state.registrations()},
    )


def _build_model(
    job: _Job, state: ModelState, documents: Documents, reasons: dict[str, str]
) -> _Built:
    """Every page of one model but its lineage page (which needs HEAD's pipeline)."""
    name = state.name
    model = _site_model(job, state, documents, reasons)
    keys = _page_keys(state, model.cards, documents, job.production)
    folder = model_folder(name)
    site_output.make_folder(job.out, folder)
    pages = [_put(job, folder + "index.html", None, functools.partial(model_page, model))]
    for index, card in enumerate(model.cards):
        relative = version_file(name, str(card.version))
        render = functools.partial(version_page, model, index)
        pages.append(_put(job, relative, keys[index], render))
    latest = model.cards[-1].lineage if model.cards else CardLineage((), ())
    return _Built(tuple(pages), index_entry(model), latest)


def _build_group(names: tuple[str, ...]) -> _GroupBuilt:
    """A group of models' pages, their tag objects read with one `cat-file` (by the process
    that builds them, so that each process reads only its own)."""
    job = _JOB
    assert job is not None, "the build's job is set before any model is built"
    read = read_models(job.root, {name: job.tags[name] for name in names}, job.tag_objects)
    reasons = _deprecation_reasons(job.root, [read.states[name] for name in names])
    built = {
        name: _build_model(job, read.states[name], read.documents, reasons.get(name, {}))
        for name in names
    }
    return _GroupBuilt(built, read.tag_objects)


def _deprecation_reasons(root: Path, states: list[ModelState]) -> dict[str, dict[str, str]]:
    """Per model, per deprecated version: the reason its deregistration tag gives; one
    `cat-file` for a group's deregistration tags, none when nothing is deprecated."""
    retired = {state.name: deregistrations(state) for state in states}
    found = deprecation_reasons(
        root, {f"{name}\0{v}": e for name, tags in retired.items() for v, e in tags.items()}
    )
    reasons: dict[str, dict[str, str]] = {}
    for key, text in found.items():
        name, _, version = key.partition("\0")
        reasons.setdefault(name, {})[version] = text
    return reasons


def _workers(wanted: int | None, versions: int, models: int) -> int:
    if not hasattr(os, "fork") or sys.platform != "linux":
        return 1  # forking is only safe and cheap on Linux
    if wanted is None:
        if versions < POOL_THRESHOLD:
            return 1
        wanted = len(os.sched_getaffinity(0))
    return max(1, min(wanted, models))


def _groups(versions: dict[str, list[Version]], workers: int) -> list[tuple[str, ...]]:
    """Models in name order, cut into groups of about equal versions: several per worker, so
    that the workers finish together and the progress bar moves (one process too)."""
    target = max(1, sum(len(v) for v in versions.values()) // (max(workers, 2) * 8))
    groups: list[tuple[str, ...]] = []
    current: list[str] = []
    size = 0
    for name in sorted(versions):
        current.append(name)
        size += len(versions[name])
        if size >= target:
            groups.append(tuple(current))
            current, size = [], 0
    if current:
        groups.append(tuple(current))
    return groups


def _built(
    groups: list[tuple[str, ...]], workers: int, meanwhile: Callable[[], None]
) -> Iterator[_GroupBuilt]:
    """Each group's build, as it finishes; `meanwhile` runs in this process once the workers
    have started (with one process: once every group is built)."""
    if workers == 1:
        for group in groups:
            yield _build_group(group)
        meanwhile()
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        # The first submit forks every worker (then the pool starts its thread): nothing below
        # runs in a forked process.
        futures = [pool.submit(_build_group, group) for group in groups]
        meanwhile()
        for future in as_completed(futures):
            yield future.result()


def _planned(versions: dict[str, list[Version]]) -> list[str]:
    """Every page the build will have, known from the tag names before any object is read."""
    planned = [site_output.MANIFEST, "style.css", "index.html"]
    for name in sorted(versions):
        folder = model_folder(name)
        planned += [folder + "index.html", folder + "lineage.html"]
        # Deprecated versions too: a published page stays where it was linked.
        planned += [version_file(name, str(version)) for version in versions[name]]
    return planned


def site(
    repo: Path | str = ".",
    out: Path | str = "_site",
    *,
    title: str | None = None,
    progress: Progress | None = None,
    jobs: int | None = None,
) -> SiteResult:
    """Build the registry's static site into `out`, writing only pages whose content changed;
    `jobs` processes build it (default: one per core for a large registry)."""
    if not str(out).strip():  # Path("") is ".": never build into the current folder by accident
        raise OutputFileError("the site's output folder is empty; name a folder with -o")
    # A build makes hundreds of thousands of small objects and no cycle: the collector would
    # only walk them (and, in a forked worker, copy the pages of the parent's it walks).
    with without_cycle_collection():
        return _site(Path(repo), Path(out), title, progress, jobs)


def _site(
    repo: Path, target: Path, title: str | None, progress: Progress | None, jobs: int | None
) -> SiteResult:
    global _JOB
    started = time.perf_counter()
    root = root_of(repo)
    before = site_output.read_manifest(target)
    # Only names and object ids here: the processes that build the models read their own
    # models' tag objects (and messages), so no object is read twice.
    tags = tags_by_model(git.list_tags(root))
    names = {
        name: registered_versions(n for n, _ in model_tags) for name, model_tags in tags.items()
    }
    settings = config.load(root)
    planned = _planned(names)
    removed = sorted(set(before.pages) - set(planned))
    on_disk = site_output.scan(target, planned + removed)
    site_output.make_folder(target, "")
    known = tag_cache.load(root)
    job = _Job(
        root=root,
        out=target,
        before=before,
        on_disk=on_disk,
        tags=tags,
        tag_objects=known,
        order=settings.promotion_order or settings.stages,
        production=production_stage(settings.stages, settings.promotion_order),
        declarations=declared(root),
    )
    versions = sum(len(v) for v in names.values())
    total = len(planned) - 1
    workers = _workers(jobs, versions, len(tags))
    built: dict[str, _Built] = {}
    read: dict[str, tag_cache.TagObject] = {}
    lineages: dict[str, CardLineage] = {}
    _JOB = job
    try:
        # HEAD's lineage is read while the workers build the models.
        for group in _built(
            _groups(names, workers), workers, lambda: lineages.update(_head_lineage(root))
        ):
            built.update(group.models)
            read.update(group.tag_objects)
            if progress is not None:
                done = sum(len(b.pages) for b in built.values())
                progress("pages", done, total)
    finally:
        _JOB = None
    if read:
        tag_cache.save(root, {**known, **read})
    pages = [_put(job, "style.css", None, style_sheet)]
    entries = [built[name].entry for name in sorted(tags)]
    heading = title or f"Model registry: {root.name}"
    pages.append(_put(job, "index.html", None, lambda: index_page(entries, heading)))
    for name in sorted(tags):
        graph = lineages.get(name) or built[name].lineage
        relative = model_folder(name) + "lineage.html"
        pages.append(_put(job, relative, None, functools.partial(lineage_page, name, graph)))
        pages += built[name].pages
    if progress is not None:
        progress("pages", total, total)
    for relative in removed:
        site_output.remove(target, relative)
    site_output.write_manifest(
        target,
        Manifest(
            pages={p.relative: p.digest for p in pages},
            keys={p.relative: p.key for p in pages if p.key is not None},
            stats={p.relative: p.stat for p in pages if p.stat is not None},
        ),
    )
    return SiteResult(
        out=target,
        models=len(tags),
        versions=versions,
        pages=len(pages),
        written=tuple(p.relative for p in pages if p.written),
        removed=tuple(removed),
        seconds=time.perf_counter() - started,
        processes=workers,
        deprecated=sum(b.entry.deprecated_versions for b in built.values()),
    )
