"""The DVC pipeline as committed at one revision, read from git objects with PyYAML (no dvc import).

Stages, their dependencies, outputs and params come from `dvc.lock` (DVC has already resolved
`foreach`/`matrix` there and recorded every hash); artifact declarations, metrics declarations
and `wdir` come from `dvc.yaml`; raw data comes from `.dvc` files.
"""

from __future__ import annotations

import posixpath
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from modelgit.errors import PipelineError
from modelgit.sources.tree import Tree

DVCFILE = "dvc.yaml"
LOCKFILE = "dvc.lock"
DEFAULT_PARAMS = "params.yaml"
# libyaml parses a large dvc.lock many times faster than the pure-Python loader.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Artifact:
    """A model (or other artifact) declared in a dvc.yaml `artifacts:` section."""

    name: str
    path: str
    type: str
    dvcfile: str
    desc: str = ""
    labels: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def directory(self) -> str:
        """The folder of the dvc.yaml that declares it ('' at the repo root)."""
        return posixpath.dirname(self.dvcfile)


@dataclass(frozen=True)
class FileEntry:
    """A dependency or output as dvc.lock records it, with a repo-relative path."""

    path: str
    md5: str | None = None
    size: int | None = None


@dataclass
class Stage:
    """One resolved stage of dvc.lock."""

    id: str
    name: str
    dvcfile: str
    cmd: str = ""
    deps: list[FileEntry] = field(default_factory=list)
    outs: list[FileEntry] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    metrics: list[str] = field(default_factory=list)
    uncached: list[str] = field(default_factory=list)  # outputs declared `cache: false`


@dataclass
class Pipeline:
    """All stages and DVC-tracked files of a revision, indexed by the paths they produce."""

    tree: Tree
    dvcfiles: dict[str, dict[str, Any]]
    stages: dict[str, Stage]
    tracked: dict[str, FileEntry]  # paths tracked by .dvc files
    producers: dict[str, str] = field(default_factory=dict)  # out path -> stage id
    # Folders that hold outputs (`data` for `data/train.csv`): a dependency on one of them
    # reads those outputs, as DVC's own graph says.
    output_folders: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        for stage in self.stages.values():
            for out in stage.outs:
                self.producers[out.path] = stage.id
                self.output_folders.update(list(_self_and_parents(out.path))[1:])

    def outputs_inside(self, folder: str) -> list[str]:
        """The outputs a folder holds (none unless some stage writes inside it)."""
        folder = posixpath.normpath(folder)
        if folder not in self.output_folders:
            return []
        prefix = folder + "/"
        return sorted(path for path in self.producers if path.startswith(prefix))

    def dependency_producers(self, path: str) -> list[str]:
        """The stages whose outputs a dependency reads: the one writing it (or the folder that
        holds it), or every stage writing inside it when it is a folder."""
        producer = self.producer(path)
        if producer is not None:
            return [producer]
        return list(dict.fromkeys(self.producers[out] for out in self.outputs_inside(path)))

    def producer(self, path: str) -> str | None:
        """The stage that outputs `path` (or a directory containing it)."""
        for candidate in _self_and_parents(path):
            if candidate in self.producers:
                return self.producers[candidate]
        return None

    def is_dvc_tracked(self, path: str) -> bool:
        """True when DVC (a stage output or a .dvc file) tracks `path`."""
        return self.producer(path) is not None or any(
            c in self.tracked for c in _self_and_parents(path)
        )

    def upstream(self, path: str) -> list[str]:
        """Stage ids `path` depends on, producers first (a topological order)."""
        start = self.producer(path)
        if start is None:
            return []

        def producers(stage_id: str) -> Iterator[str]:
            for dep in self.stages[stage_id].deps:
                yield from self.dependency_producers(dep.path)

        return _topological(self, _reach([start], producers))

    def downstream(self, path: str) -> list[str]:
        """The stage producing `path`, then every stage that (transitively) reads `path`; none
        for a path no stage produces.

        Only readers of `path` itself count, not of the producer's other outputs: a stage
        evaluating one model does not evaluate another that the same stage wrote.
        """
        producer = self.producer(path)
        if producer is None:
            return []
        consumers: dict[str, set[str]] = {}
        readers: set[str] = set()
        for stage in self.stages.values():
            for dep in stage.deps:
                if stage.id != producer and _overlap(dep.path, path):
                    readers.add(stage.id)
                for parent in self.dependency_producers(dep.path):
                    if parent != stage.id:
                        consumers.setdefault(parent, set()).add(stage.id)
        found = [producer, *_reach(sorted(readers), lambda s: sorted(consumers.get(s, ())))]
        return list(dict.fromkeys(found))

    def in_dvc_cache(self, path: str) -> bool:
        """True when DVC keeps `path` in its cache (an output without `cache: false`)."""
        stage_id = self.producer(path)
        if stage_id is None:
            return any(c in self.tracked for c in _self_and_parents(path))
        return path not in self.stages[stage_id].uncached

    def entry(self, path: str) -> FileEntry | None:
        """The hash record of a DVC-tracked path: its producing stage's out, or its .dvc file."""
        stage_id = self.producers.get(path)
        if stage_id is not None:
            return next(o for o in self.stages[stage_id].outs if o.path == path)
        return self.tracked.get(path)


def _reach(starts: Iterable[str], neighbours: Callable[[str], Iterable[str]]) -> list[str]:
    """Every node reachable from `starts` (themselves included), breadth first."""
    seen: dict[str, None] = {}
    queue = deque(starts)
    while queue:
        current = queue.popleft()
        if current in seen:
            continue
        seen[current] = None
        queue.extend(n for n in neighbours(current) if n not in seen)
    return list(seen)


def _overlap(dependency: str, path: str) -> bool:
    """True when a dependency reads `path`: the same path, a folder holding it, or inside it."""
    dependency, path = posixpath.normpath(dependency), posixpath.normpath(path)
    return (
        dependency == path or path.startswith(dependency + "/") or dependency.startswith(path + "/")
    )


def _self_and_parents(path: str) -> Iterator[str]:
    current = posixpath.normpath(path)
    while current and current != ".":
        yield current
        current = posixpath.dirname(current)


def _topological(pipe: Pipeline, ids: list[str]) -> list[str]:
    """Order `ids` so that every stage comes after the stages producing its deps.

    A depth-first walk with its own stack, not recursion: a chain of thousands of stages is a
    real pipeline, and Python's recursion limit is a thousand frames.
    """
    wanted = set(ids)
    ordered: dict[str, None] = {}
    for root in ids:
        stack: list[tuple[str, Iterator[str]]] = []
        if root not in ordered:
            stack.append((root, iter(_producers_within(pipe, root, wanted))))
        on_path = {root}
        while stack:
            sid, producers = stack[-1]
            child = next((p for p in producers if p not in ordered and p not in on_path), None)
            if child is None:
                stack.pop()
                on_path.discard(sid)
                ordered[sid] = None
            else:
                on_path.add(child)
                stack.append((child, iter(_producers_within(pipe, child, wanted))))
    return list(ordered)


def _producers_within(pipe: Pipeline, stage_id: str, wanted: set[str]) -> list[str]:
    return [
        producer
        for dep in pipe.stages[stage_id].deps
        for producer in pipe.dependency_producers(dep.path)
        if producer in wanted
    ]


def _load_yaml(raw: bytes | None, what: str) -> Any:
    if raw is None:
        return None
    try:
        return yaml.load(raw, Loader=_SafeLoader)  # CSafeLoader: safe, and fast
    except yaml.YAMLError as exc:
        raise PipelineError(f"{what} is not valid YAML: {str(exc).splitlines()[0]}") from exc


def _join(directory: str, path: str) -> str:
    return posixpath.normpath(posixpath.join(directory, path))


def find_dvcfiles(files: list[str]) -> list[str]:
    """The dvc.yaml files among `files`, the root one first."""
    found = [f for f in files if posixpath.basename(f) == DVCFILE]
    return sorted(found, key=lambda f: (f.count("/"), f))


def model_name(dvcfile: str, name: str) -> str:
    """`name` for the root dvc.yaml, `<folder>:name` for one in a sub-folder."""
    directory = posixpath.dirname(dvcfile)
    return f"{directory}:{name}" if directory else name


def read_artifacts(dvcfiles: dict[str, dict[str, Any]]) -> dict[str, Artifact]:
    """Every artifact declared across the dvc.yaml documents, by full model name."""
    artifacts: dict[str, Artifact] = {}
    for dvcfile, document in dvcfiles.items():
        declared = document.get("artifacts") or {}
        if not isinstance(declared, dict):
            raise PipelineError(f"{dvcfile}: `artifacts:` must be a mapping of name to declaration")
        for name, spec in declared.items():
            if not isinstance(spec, dict) or not isinstance(spec.get("path"), str):
                raise PipelineError(f"{dvcfile}: artifact {name!r} needs a `path:`")
            full = model_name(dvcfile, str(name))
            artifacts[full] = Artifact(
                name=full,
                path=_join(posixpath.dirname(dvcfile), spec["path"]),
                type=str(spec.get("type", "model")),
                dvcfile=dvcfile,
                desc=str(spec.get("desc", "") or ""),
                labels=tuple(str(label) for label in spec.get("labels") or ()),
                meta=dict(spec.get("meta") or {}),
            )
    return artifacts


def load_dvcfiles(tree: Tree) -> dict[str, dict[str, Any]]:
    """Only the dvc.yaml documents of a tree (enough to know which models are declared)."""
    dvcfiles = find_dvcfiles(tree.files())
    blobs = tree.read(dvcfiles)
    return {path: _mapping(blobs[path], path) for path in dvcfiles}


def _mapping(raw: bytes | None, path: str) -> dict[str, Any]:
    document = _load_yaml(raw, path) or {}
    if not isinstance(document, dict):
        raise PipelineError(f"{path} is not a YAML mapping")
    return document


def load(tree: Tree) -> Pipeline:
    """Read every dvc.yaml, dvc.lock and .dvc file of a tree (from git: in one batch)."""
    files = tree.files()
    dvcfiles = find_dvcfiles(files)
    lockfiles = [_join(posixpath.dirname(f), LOCKFILE) for f in dvcfiles]
    dotdvc = [f for f in files if f.endswith(".dvc") and not f.startswith(".dvc/")]
    blobs = tree.read(dvcfiles + lockfiles + dotdvc)
    documents = {path: _mapping(blobs[path], path) for path in dvcfiles}
    stages: dict[str, Stage] = {}
    for dvcfile, lockfile in zip(dvcfiles, lockfiles, strict=True):
        lock = _lock_entries(_load_yaml(blobs[lockfile], lockfile) or {}, lockfile)
        definitions = _definitions(tree, dvcfile, documents[dvcfile], blobs[dvcfile])
        stages.update(_build_stages(dvcfile, definitions, documents[dvcfile], lock))
    tracked: dict[str, FileEntry] = {}
    for path in dotdvc:
        document = _load_yaml(blobs[path], path) or {}
        for out in document.get("outs") or []:
            entry = _entry(posixpath.dirname(path), out, path)
            tracked[entry.path] = entry
    return Pipeline(tree=tree, dvcfiles=documents, stages=stages, tracked=tracked)


def _entry(directory: str, raw: Any, where: str) -> FileEntry:
    if not isinstance(raw, dict) or "path" not in raw:
        raise PipelineError(f"{where}: an entry lacks `path:`")
    size = raw.get("size")
    md5 = raw.get("md5") or raw.get("etag") or raw.get("checksum")
    return FileEntry(
        path=_join(directory, str(raw["path"])),
        md5=str(md5) if md5 is not None else None,
        size=int(size) if isinstance(size, int) else None,
    )


def _templated(document: dict[str, Any], raw: bytes | None) -> bool:
    """True when the dvc.yaml uses DVC's templating (foreach, matrix, vars, `${}`)."""
    if "vars" in document or (raw is not None and b"${" in raw):
        return True
    stages = document.get("stages") or {}
    return any(isinstance(s, dict) and ("foreach" in s or "matrix" in s) for s in stages.values())


def _definitions(tree: Tree, dvcfile: str, document: dict[str, Any], raw: bytes | None) -> Any:
    """Stage definitions as DVC resolves them; plain files need no DVC, templated ones use its
    own parser (foreach, matrix, vars and `${}` interpolation from params files)."""
    if not _templated(document, raw):
        return document.get("stages") or {}
    from modelgit.sources.dvc import resolve_stages

    return resolve_stages(tree, dvcfile, document)


def _lock_entries(lock: Any, lockfile: str) -> dict[str, dict[str, Any]]:
    if not isinstance(lock, dict):
        raise PipelineError(f"{lockfile} is not a YAML mapping")
    entries = lock.get("stages") or {}
    if not isinstance(entries, dict) or not all(isinstance(e, dict) for e in entries.values()):
        raise PipelineError(f"{lockfile}: `stages:` must map stage names to mappings")
    return {str(name): entry for name, entry in entries.items()}


def _build_stages(
    dvcfile: str, definitions: Any, document: dict[str, Any], lock: dict[str, dict[str, Any]]
) -> dict[str, Stage]:
    """Stages as dvc.yaml defines them, with the hashes and param values dvc.lock recorded."""
    if not isinstance(definitions, dict):
        raise PipelineError(f"{dvcfile}: `stages:` must be a mapping")
    directory = posixpath.dirname(dvcfile)
    stages: dict[str, Stage] = {}
    for name, definition in definitions.items():
        if not isinstance(definition, dict):
            raise PipelineError(f"{dvcfile}: stage {name!r} is not a mapping")
        recorded = lock.get(str(name), {})
        wdir = _join(directory, str(definition.get("wdir", ".")))
        wdir = "" if wdir == "." else wdir
        hashes = {
            entry.path: entry
            for key in ("deps", "outs")
            for entry in (_entry(wdir, raw, dvcfile) for raw in recorded.get(key) or [])
        }
        outputs = [
            p for key in ("outs", "metrics", "plots") for p in _declared_paths(definition.get(key))
        ]
        cmd = definition.get("cmd", recorded.get("cmd", ""))
        stage_id = f"{dvcfile}:{name}" if directory else str(name)
        stages[stage_id] = Stage(
            id=stage_id,
            name=str(name),
            dvcfile=dvcfile,
            cmd=" && ".join(map(str, cmd)) if isinstance(cmd, list) else str(cmd),
            deps=[_hashed(wdir, p, hashes) for p in _declared_paths(definition.get("deps"))],
            outs=[_hashed(wdir, p, hashes) for p in outputs],
            params=_params(wdir, definition.get("params"), recorded.get("params") or {}),
            metrics=[_join(wdir, p) for p in _declared_paths(definition.get("metrics"))],
            uncached=[_join(wdir, p) for p in _uncached_paths(definition)],
        )
    for path in _declared_paths(document.get("metrics")):
        full = _join(directory, path)
        for stage in stages.values():
            if any(out.path == full for out in stage.outs) and full not in stage.metrics:
                stage.metrics.append(full)
    return stages


def _hashed(wdir: str, path: str, hashes: dict[str, FileEntry]) -> FileEntry:
    full = _join(wdir, path)
    return hashes.get(full) or FileEntry(full)


def _params(wdir: str, declared: Any, recorded: dict[str, Any]) -> dict[str, Any]:
    """Declared params per file (repo-relative), valued as dvc.lock recorded them.

    `- key` names a key of the stage's params.yaml; `- file.yaml: [keys]` keys of another file;
    `- file.yaml:` with no keys the whole file (then every key dvc.lock recorded).
    """
    params: dict[str, dict[str, Any]] = {}
    for item in declared or []:
        entries = {DEFAULT_PARAMS: [item]} if isinstance(item, str) else item
        if not isinstance(entries, dict):
            continue
        for file, keys in entries.items():
            values = recorded.get(file) or {}
            target = params.setdefault(_join(wdir, str(file)), {})
            if not keys:
                target.update(values)
                continue
            for key in keys:
                target[str(key)] = values.get(str(key))
    return params


def _declared_paths(entries: Any) -> list[str]:
    """Paths of a dvc.yaml list whose items are `path` or `{path: {options}}`."""
    paths = []
    for item in entries or []:
        if isinstance(item, str):
            paths.append(item)
        elif isinstance(item, dict):
            paths.extend(str(key) for key in item)
    return [p for p in paths if "${" not in p]


def _uncached_paths(definition: dict[str, Any]) -> list[str]:
    """Outputs a stage declares with `cache: false` (git keeps them, not the DVC cache)."""
    paths: list[str] = []
    for key in ("outs", "metrics", "plots"):
        for item in definition.get(key) or []:
            if isinstance(item, dict):
                paths.extend(
                    str(path)
                    for path, options in item.items()
                    if isinstance(options, dict) and options.get("cache") is False
                )
    return [p for p in paths if "${" not in p]


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings flattened to dotted keys, as `dvc params diff`/`metrics diff` show them."""
    if not isinstance(value, dict):
        return {prefix: value} if prefix else {}
    flat: dict[str, Any] = {}
    for key, inner in value.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(inner, dict) and inner:
            flat.update(flatten(inner, name))
        else:
            flat[name] = inner
    return flat


def params_of(pipeline: Pipeline, stage_ids: list[str]) -> dict[str, Any]:
    """The params the stages used, flattened; keys from a non-default params file get `file:`."""
    params: dict[str, Any] = {}
    for stage_id in stage_ids:
        stage = pipeline.stages[stage_id]
        default = _join(posixpath.dirname(stage.dvcfile), DEFAULT_PARAMS)
        for path, values in stage.params.items():
            prefix = "" if path == default else f"{path}:"
            for key, value in flatten(values).items():
                params[f"{prefix}{key}"] = value
    return dict(sorted(params.items()))


def parse_data_file(raw: bytes, path: str) -> Any:
    """A JSON or YAML metrics/params/schema file's content (YAML is a superset of JSON)."""
    try:
        return yaml.load(raw, Loader=_SafeLoader)  # CSafeLoader: safe, and fast
    except yaml.YAMLError as exc:
        raise PipelineError(f"{path} does not parse: {str(exc).splitlines()[0]}") from exc


def lookup(document: Any, dotted: str) -> tuple[bool, Any]:
    """(found, value) of a dotted key (`train.C`) in a parsed params document."""
    current = document
    for part in dotted.split("."):
        if not isinstance(current, dict) or part not in current:
            return False, None
        current = current[part]
    return True, current
