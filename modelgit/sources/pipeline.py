"""The DVC pipeline as committed at one revision, read from git objects (no dvc import).

Stages, their dependencies, outputs and params come from `dvc.lock` (DVC has already resolved
`foreach`/`matrix` there and recorded every hash); artifact declarations, metrics declarations
and `wdir` come from `dvc.yaml` (and from GTO's older `artifacts.yaml`); raw data comes from
`.dvc` files. Params and metrics files are parsed by extension exactly as DVC parses them
(`dvc.utils.serialize`): `.json` as JSON, `.toml` as TOML, `.py` as Python constants, anything
else as YAML 1.2 (DVC reads YAML with ruamel; PyYAML's libyaml parser with YAML 1.2's scalar
rules gives the same values, several times faster).
"""

from __future__ import annotations

import ast
import contextlib
import gc
import hashlib
import json
import marshal
import posixpath
import re
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import yaml

from modelgit.errors import PipelineError
from modelgit.sources.templates import resolve_simple
from modelgit.sources.tree import Tree

DVCFILE = "dvc.yaml"
LOCKFILE = "dvc.lock"
DEFAULT_PARAMS = "params.yaml"
GTO_INDEX = "artifacts.yaml"  # where GTO before 1.0 declared artifacts (DVC Studio reads it too)

_BOOL, _INT, _FLOAT = (f"tag:yaml.org,2002:{kind}" for kind in ("bool", "int", "float"))
# YAML 1.2's core schema as ruamel (and so DVC) resolves plain scalars: `yes`/`on` stay text,
# `1e-5` is a float, `017` is 17 and `0o17` is 15. PyYAML alone speaks YAML 1.1.
_YAML_1_2 = (
    (_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), "tTfF"),
    (
        _FLOAT,
        re.compile(
            r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
            |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
            |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
            |[-+]?\.(?:inf|Inf|INF)
            |\.(?:nan|NaN|NAN))$""",
            re.X,
        ),
        "-+0123456789.",
    ),
    (
        _INT,
        re.compile(
            r"""^(?:[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?[0-9_]+|[-+]?0x[0-9a-fA-F_]+)$""", re.X
        ),
        "-+0123456789",
    ),
)
_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: many times faster


class _SafeLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    """A safe YAML loader with YAML 1.2 scalars and refusing duplicate keys, as DVC's ruamel."""

    yaml_implicit_resolvers: ClassVar[dict[str, list[tuple[str, re.Pattern[str]]]]] = {
        first: [(tag, regex) for tag, regex in resolvers if tag not in (_BOOL, _INT, _FLOAT)]
        for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
    }

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        """A mapping; a key given twice is an error (ruamel refuses it, so DVC does)."""
        pairs = getattr(node, "value", None)
        given = list(pairs) if isinstance(pairs, list) else []
        mapping = super().construct_mapping(node, deep)
        # One key per pair and no merge (which rewrites node.value): nothing was given twice.
        # Only otherwise are the keys compared, which costs a pass over them in Python.
        if len(mapping) != len(given) or node.value is not pairs or len(pairs) != len(given):
            self._refuse_duplicates(given)
        return mapping

    @staticmethod
    def _refuse_duplicates(pairs: list[tuple[Any, Any]]) -> None:
        seen: set[tuple[str, str]] = set()
        for key, _ in pairs:
            if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                if (key.tag, key.value) in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"found duplicate key {key.value!r}", key.start_mark
                    )
                seen.add((key.tag, key.value))

    def construct_yaml_int(self, node: Any) -> Any:
        """YAML 1.2 integers: a leading 0 is decimal, `0o` octal, `0x` hex, `0b` binary."""
        text = str(self.construct_scalar(node)).replace("_", "")
        sign = -1 if text.startswith("-") else 1
        digits = text.lstrip("+-")
        bases = {"0b": 2, "0o": 8, "0x": 16}
        try:
            if digits[:2] in bases:
                return sign * int(digits[2:], bases[digits[:2]])
            return sign * int(digits)
        except ValueError:
            return text


for _tag, _regex, _first in _YAML_1_2:
    for _char in _first:
        _SafeLoader.yaml_implicit_resolvers.setdefault(_char, []).append((_tag, _regex))
_SafeLoader.add_constructor(_INT, _SafeLoader.construct_yaml_int)


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
    tracked_by: dict[str, str] = field(default_factory=dict)  # tracked path -> its .dvc file
    tracked_folders: set[str] = field(default_factory=set)  # folders holding tracked paths

    def __post_init__(self) -> None:
        for stage in self.stages.values():
            for out in stage.outs:
                self.producers[out.path] = stage.id
                self.output_folders.update(list(_self_and_parents(out.path))[1:])
        for path in self.tracked:
            self.tracked_folders.update(list(_self_and_parents(path))[1:])

    def outputs_inside(self, folder: str) -> list[str]:
        """The outputs a folder holds (none unless some stage writes inside it)."""
        folder = posixpath.normpath(folder)
        if folder not in self.output_folders:
            return []
        prefix = folder + "/"
        return sorted(path for path in self.producers if path.startswith(prefix))

    def tracked_inside(self, folder: str) -> list[str]:
        """The .dvc-tracked paths a folder holds (`raw/train.csv` for `raw`)."""
        folder = posixpath.normpath(folder)
        if folder not in self.tracked_folders:
            return []
        prefix = folder + "/"
        return sorted(path for path in self.tracked if path.startswith(prefix))

    def is_data(self, path: str) -> bool:
        """True when DVC tracks `path` or anything inside it; only what git alone tracks is code."""
        folder = posixpath.normpath(path)
        return (
            self.is_dvc_tracked(path)
            or folder in self.output_folders
            or folder in self.tracked_folders
        )

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

    def dvc_file_of(self, path: str) -> str | None:
        """The .dvc file that tracks `path` (or a folder holding it), if one does."""
        return next(
            (self.tracked_by[c] for c in _self_and_parents(path) if c in self.tracked_by), None
        )

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


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while a document is built.

    Parsing allocates tens of thousands of containers, none of them garbage, and each
    allocation burst sets off a collection that walks every object alive: without the pause
    reading a 1,000-stage dvc.lock takes about twice as long.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


# Large documents already parsed in this process, by the sha256 of their bytes: one command
# often reads the same dvc.lock twice (at the commit and in the work tree), and parsing a
# 5,000-stage one costs most of a second. Kept marshalled, so each reader gets its own copy.
_PARSED: dict[bytes, bytes] = {}
_PARSED_MIN_BYTES = 64 * 1024
_PARSED_MAX_ENTRIES = 8


def _load_yaml(raw: bytes | None, what: str) -> Any:
    if raw is None:
        return None
    key = hashlib.sha256(raw).digest() if len(raw) >= _PARSED_MIN_BYTES else None
    if key is not None and key in _PARSED:
        return marshal.loads(_PARSED[key])
    try:
        with _collector_paused():
            document = yaml.load(raw, Loader=_SafeLoader)  # CSafeLoader: safe, and fast
    except yaml.YAMLError as exc:
        raise PipelineError(f"{what} is not valid YAML: {str(exc).splitlines()[0]}") from exc
    if key is not None:
        _remember(key, document)
    return document


def _remember(key: bytes, document: Any) -> None:
    try:
        _PARSED[key] = marshal.dumps(document)
    except ValueError:  # a value marshal cannot hold (a YAML timestamp): parse it again
        return
    while len(_PARSED) > _PARSED_MAX_ENTRIES:
        del _PARSED[next(iter(_PARSED))]


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
    """Only the declaring documents of a tree (enough to know which models are declared): its
    dvc.yaml files, and GTO's older `artifacts.yaml` when there is one."""
    files = tree.files()
    dvcfiles = find_dvcfiles(files)
    index = [GTO_INDEX] if GTO_INDEX in files else []
    blobs = tree.read(index + dvcfiles)
    documents = {path: _mapping(blobs[path], path) for path in dvcfiles}
    return _with_gto_index(documents, blobs.get(GTO_INDEX) if index else None)


def _with_gto_index(
    documents: dict[str, dict[str, Any]], raw: bytes | None
) -> dict[str, dict[str, Any]]:
    """The dvc.yaml documents, preceded by GTO's `artifacts.yaml` as an `artifacts:` section.

    GTO before 1.0 kept `{name: {type, path, virtual, labels, description, custom}}` in a
    root `artifacts.yaml`. Declarations read in order, so a name dvc.yaml declares as well
    is dvc.yaml's (DVC 3's declaration wins, as GTO 1.x and DVC Studio read it).
    """
    if raw is None:
        return documents
    index = _mapping(raw, GTO_INDEX)
    artifacts = {}
    for name, spec in index.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("path"), str):
            continue  # a virtual artifact without a path has nothing to version here
        custom = spec.get("custom")
        artifacts[str(name)] = {
            "path": spec["path"],
            "type": spec.get("type") or "model",
            "desc": spec.get("description") or "",
            "labels": spec.get("labels") or [],
            "meta": custom if isinstance(custom, dict) else {},
        }
    return {GTO_INDEX: {"artifacts": artifacts}, **documents}


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
    index = [GTO_INDEX] if GTO_INDEX in files else []
    blobs = tree.read(index + dvcfiles + lockfiles + dotdvc)
    documents = {path: _mapping(blobs[path], path) for path in dvcfiles}
    stages: dict[str, Stage] = {}
    for dvcfile, lockfile in zip(dvcfiles, lockfiles, strict=True):
        lock = _lock_entries(_load_yaml(blobs[lockfile], lockfile) or {}, lockfile)
        definitions = _definitions(tree, dvcfile, documents[dvcfile], blobs[dvcfile])
        stages.update(_build_stages(dvcfile, definitions, documents[dvcfile], lock))
    tracked: dict[str, FileEntry] = {}
    tracked_by: dict[str, str] = {}
    for path in dotdvc:
        document = _load_yaml(blobs[path], path) or {}
        for out in document.get("outs") or []:
            entry = _entry(posixpath.dirname(path), out, path)
            tracked[entry.path] = entry
            tracked_by[entry.path] = path
    declaring = _with_gto_index(documents, blobs.get(GTO_INDEX) if index else None)
    return Pipeline(
        tree=tree, dvcfiles=declaring, stages=stages, tracked=tracked, tracked_by=tracked_by
    )


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
    """Stage definitions as DVC resolves them; plain files need no DVC, nor does a simple
    `foreach` (`templates`); other templated ones use DVC's own parser (matrix, vars and `${}`
    interpolation from params files)."""
    if not _templated(document, raw):
        return document.get("stages") or {}
    simple = resolve_simple(document)
    if simple is not None:
        return simple
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
            p for key in ("outs", "metrics", "plots") for p in declared_paths(definition.get(key))
        ]
        cmd = definition.get("cmd", recorded.get("cmd", ""))
        stage_id = f"{dvcfile}:{name}" if directory else str(name)
        stages[stage_id] = Stage(
            id=stage_id,
            name=str(name),
            dvcfile=dvcfile,
            cmd=" && ".join(map(str, cmd)) if isinstance(cmd, list) else str(cmd),
            deps=[_hashed(wdir, p, hashes) for p in declared_paths(definition.get("deps"))],
            outs=[_hashed(wdir, p, hashes) for p in outputs],
            params=_params(wdir, definition.get("params"), recorded.get("params") or {}),
            metrics=[_join(wdir, p) for p in declared_paths(definition.get("metrics"))],
            uncached=[_join(wdir, p) for p in _uncached_paths(definition)],
        )
    for path in declared_paths(document.get("metrics")):
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


def declared_paths(entries: Any) -> list[str]:
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


def data_format(path: str) -> str:
    """How DVC parses a params or metrics file, by its extension: json, toml, py or yaml.

    >>> [data_format(p) for p in ("m.json", "hp.TOML", "config.py", "params.yaml", "params")]
    ['json', 'toml', 'py', 'yaml', 'yaml']
    """
    suffix = posixpath.splitext(path)[1].lower()
    return {".json": "json", ".toml": "toml", ".py": "py"}.get(suffix, "yaml")


def parse_data_file(raw: bytes, path: str) -> Any:
    """A params, metrics or schema file's content, parsed by extension as DVC parses it
    (`dvc.utils.serialize.PARSERS`); an empty document is an empty mapping."""
    kind = data_format(path)
    try:
        if kind == "json":
            return json.loads(raw) or {}
        if kind == "toml":
            return _toml().loads(raw.decode("utf-8"))
        if kind == "py":
            return python_constants(ast.parse(raw, filename=path))
        with _collector_paused():
            return yaml.load(raw, Loader=_SafeLoader) or {}
    except (ValueError, SyntaxError, yaml.YAMLError) as exc:  # JSON, TOML, Python, YAML errors
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        name = {"json": "JSON", "toml": "TOML", "py": "Python", "yaml": "YAML"}[kind]
        raise PipelineError(f"{path} does not parse as {name}: {detail}") from exc


def _toml() -> Any:
    """The TOML parser (the standard library's from 3.11), imported when a TOML file is read."""
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib
    import tomli  # pragma: no cover - Python 3.10

    return tomli  # pragma: no cover


def python_constants(
    tree: ast.Module | ast.ClassDef | ast.FunctionDef, *, own: bool = False
) -> dict[str, Any]:
    """The params a `.py` params file holds, as DVC reads them: module-level literal
    assignments, classes as nested mappings of theirs, and `self.x = literal` in `__init__`
    (`own`); anything that is not a literal is skipped."""
    found: dict[str, Any] = {}
    for node in tree.body:
        try:
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                found.update(_python_assignment(node, own))
            elif isinstance(node, ast.ClassDef):
                found[node.name] = python_constants(node)
            elif isinstance(node, ast.FunctionDef) and node.name == "__init__":
                found.update(python_constants(node, own=True))
        except (ValueError, TypeError, AttributeError):
            continue  # not a literal (DVC skips it too)
    return found


def _python_assignment(node: ast.Assign | ast.AnnAssign, own: bool) -> dict[str, Any]:
    target: ast.expr
    if isinstance(node, ast.AnnAssign):
        target = node.target
    elif len(node.targets) == 1:
        target = node.targets[0]
    else:
        raise AttributeError("several targets")
    if isinstance(target, ast.Name) and not own:
        name = target.id
    elif (
        isinstance(target, ast.Attribute)
        and isinstance(target.value, ast.Name)
        and target.value.id == "self"
    ):
        name = target.attr
    else:
        raise AttributeError("not a constant")
    value = node.value
    if isinstance(value, ast.Dict):
        return {
            name: {
                ast.literal_eval(key): ast.literal_eval(item)  # type: ignore[arg-type]
                for key, item in zip(value.keys, value.values, strict=True)
            }
        }
    if isinstance(value, (ast.List, ast.Set, ast.Tuple)):
        items = [ast.literal_eval(item) for item in value.elts]
        kind = {ast.List: list, ast.Set: set, ast.Tuple: tuple}[type(value)]
        return {name: kind(items)}
    return {name: ast.literal_eval(value)}  # type: ignore[arg-type]


def lookup(document: Any, dotted: str) -> tuple[bool, Any]:
    """(found, value) of a dotted key (`train.C`) in a parsed params document."""
    current = document
    for part in dotted.split("."):
        if not isinstance(current, dict) or part not in current:
            return False, None
        current = current[part]
    return True, current
