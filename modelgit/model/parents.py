"""A model's parents: the registered versions of the declared artifacts it is built from."""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from pathlib import Path

from modelgit.registry import state as registry_state
from modelgit.registry.lookup import read_metadata_many
from modelgit.registry.state import Event
from modelgit.sources.pipeline import Artifact, Pipeline, load, read_artifacts
from modelgit.sources.tree import Tree


def parent_versions(repo: Path, pipe: Pipeline, artifact: Artifact) -> list[str]:
    """`parent@vX.Y.Z` for each declared artifact this one is built from (the bare name when no
    registered version records the parent's bytes as this tree has them)."""
    artifacts = read_artifacts(pipe.dvcfiles)
    ancestors = _ancestor_files(pipe, artifact.path)
    found = []
    for name, other in sorted(artifacts.items()):
        if name == artifact.name or _holder(pipe, other.path) not in ancestors:
            continue
        entry = pipe.entry(_holder(pipe, other.path))
        md5 = entry.md5 if entry is not None else None
        events = list(registry_state.read(repo, name)[name].versions) if md5 else []
        recorded = _recorded_md5s(repo, events)
        match = next((e for e in reversed(events) if recorded[e.tag] == md5), None)
        found.append(f"{name}@v{match.version}" if match else name)
    return found


def _recorded_md5s(repo: Path, events: list[Event]) -> dict[str, str | None]:
    """The artifact md5 each version records: in its metadata, or (for a tag that carries
    none, as GTO writes them) in its commit's dvc.lock."""
    parsed = read_metadata_many(repo, events)
    found: dict[str, str | None] = {}
    for event in events:
        document = parsed[event.tag][0]
        if document is not None:
            found[event.tag] = (document.get("artifact") or {}).get("md5")
            continue
        pipe = load(Tree(repo, event.commit))
        declared = read_artifacts(pipe.dvcfiles).get(event.model)
        entry = pipe.entry(declared.path) if declared is not None else None
        found[event.tag] = entry.md5 if entry is not None else None
    return found


def _holder(pipe: Pipeline, path: str) -> str:
    """The DVC output (or .dvc-tracked path) that holds `path`, or `path` itself."""
    current = posixpath.normpath(path)
    while current and current != ".":
        if current in pipe.producers or current in pipe.tracked:
            return current
        current = posixpath.dirname(current)
    return posixpath.normpath(path)


def _sources(pipe: Pipeline, dep: str, folders: set[str]) -> list[str]:
    """What a dependency reads: the output holding it, the outputs inside it, or itself.

    `folders` holds every folder with an output or tracked path inside: a dependency that is
    none of them (a code file, say) is answered without looking at every output.
    """
    holder = _holder(pipe, dep)
    if holder in pipe.producers or holder in pipe.tracked:
        return [holder]
    if posixpath.normpath(dep) not in folders:
        return [dep]
    prefix = dep.rstrip("/") + "/"
    inside = sorted(o for o in [*pipe.producers, *pipe.tracked] if o.startswith(prefix))
    return inside or [dep]


def _folders(paths: Iterable[str]) -> set[str]:
    """Every folder holding one of `paths` (`a` and `a/b` for `a/b/c.csv`)."""
    found: set[str] = set()
    for path in paths:
        folder = posixpath.dirname(posixpath.normpath(path))
        while folder and folder not in found:
            found.add(folder)
            folder = posixpath.dirname(folder)
    return found


def _ancestor_files(pipe: Pipeline, path: str) -> set[str]:
    """Every file the artifact at `path` is built from (the file holding it included)."""
    start = _holder(pipe, path)
    folders = _folders([*pipe.producers, *pipe.tracked])
    seen = {start}
    queue = [start]
    while queue:
        stage_id = pipe.producers.get(queue.pop())
        if stage_id is None:
            continue
        for dep in pipe.stages[stage_id].deps:
            for source in _sources(pipe, dep.path, folders):
                if source not in seen:
                    seen.add(source)
                    queue.append(source)
    return seen
