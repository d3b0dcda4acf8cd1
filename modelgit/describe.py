"""What a commit says about one artifact: the facts a version's metadata records (DESIGN 3.3)."""

from __future__ import annotations

import platform
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelgit.errors import PipelineError
from modelgit.metadata import fingerprint
from modelgit.pipeline import Artifact, FileEntry, Pipeline, flatten, params_of, parse_data_file

_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
REQUIREMENTS = "requirements.txt"


@dataclass(frozen=True)
class Lineage:
    """The stages around one artifact in a pipeline."""

    artifact: FileEntry
    upstream: list[str]  # stage ids that produce the artifact, producers first
    evaluating: list[str]  # the producing stage and every stage downstream of it


def locate(pipe: Pipeline, artifact: Artifact) -> Lineage:
    """Find the artifact's hash record and its stages; refuse an artifact DVC does not track."""
    entry = pipe.entry(artifact.path)
    if entry is None or entry.md5 is None:
        raise PipelineError(
            f"{artifact.path} (model {artifact.name}) has no hash in dvc.lock or a .dvc file at "
            f"{pipe.tree.label}; run `dvc repro` (or `dvc add`) and commit"
        )
    upstream = pipe.upstream(artifact.path)
    producer = pipe.producer(artifact.path)
    evaluating = pipe.downstream(producer) if producer else []
    return Lineage(entry, upstream, evaluating)


def dependency_paths(pipe: Pipeline, lineage: Lineage) -> list[str]:
    """Every path the upstream and evaluating stages name as a dependency, output or params file."""
    paths: dict[str, None] = {}
    for stage_id in dict.fromkeys(lineage.upstream + lineage.evaluating):
        stage = pipe.stages[stage_id]
        paths.update(dict.fromkeys(dep.path for dep in stage.deps))
        paths.update(dict.fromkeys(out.path for out in stage.outs))
        paths.update(dict.fromkeys(stage.params))
    return list(paths)


def describe(repo: Path, pipe: Pipeline, artifact: Artifact, workspace: bool) -> dict[str, Any]:
    """The metadata fields a commit determines for `artifact` (everything but version facts).

    `workspace` says the work tree is known to match the commit (bump checks that first), so
    files DVC keeps out of git (cached metrics) may be read from disk and the running
    interpreter describes the environment.
    """
    lineage = locate(pipe, artifact)
    data = [
        {"path": d.path, "md5": d.md5, "size": d.size}
        for d in upstream_data(pipe, lineage, artifact).values()
    ]
    params = params_of(pipe, lineage.upstream)
    declared_files = meta_files(artifact)
    metric_files = [m for sid in lineage.evaluating for m in pipe.stages[sid].metrics]
    requirements = posixpath.join(artifact.directory, REQUIREMENTS)
    wanted = list(
        dict.fromkeys([*metric_files, *declared_files.values(), requirements, REQUIREMENTS])
    )
    contents = _read(repo, pipe, wanted, workspace)
    document: dict[str, Any] = {
        "artifact": {
            "path": artifact.path,
            "hash": "md5",
            "md5": lineage.artifact.md5,
            "size": lineage.artifact.size,
        },
        "fingerprint": fingerprint(lineage.artifact.md5 or "", params, data),
        "data": data,
        "stages": [pipe.stages[sid].name for sid in lineage.upstream],
        "params": params,
        "metrics": _metrics(metric_files, contents),
    }
    document.update(_schema(artifact, declared_files.get("schema"), contents))
    environment = _structured(declared_files.get("environment"), contents)
    if environment is None and workspace:
        reqs = contents.get(requirements) or contents.get(REQUIREMENTS)
        environment = running_environment(reqs)
    if environment is not None:
        document["environment"] = environment
    training = _structured(declared_files.get("training"), contents)
    document["parents"] = parent_versions(repo, pipe, artifact)
    if training is not None:
        document["training"] = training
    return document


def parent_versions(repo: Path, pipe: Pipeline, artifact: Artifact) -> list[str]:
    """Registered versions of the declared models whose artifacts this one is built from."""
    from modelgit.pipeline import read_artifacts

    artifacts = read_artifacts(pipe.dvcfiles)
    upstream_paths = {
        dep.path for sid in locate(pipe, artifact).upstream for dep in pipe.stages[sid].deps
    }
    if not any(a.path in upstream_paths for a in artifacts.values() if a.name != artifact.name):
        return []  # no parent: keep networkx and the registry read off this path
    from modelgit import lineage, provenance

    graph = lineage.build(pipe, artifacts)
    return provenance.parent_versions(repo, graph, artifact.name)


def upstream_data(pipe: Pipeline, lineage: Lineage, artifact: Artifact) -> dict[str, FileEntry]:
    """DVC-tracked dependencies of the upstream stages by path, the artifact itself excluded."""
    data: dict[str, FileEntry] = {}
    for stage_id in lineage.upstream:
        for dep in pipe.stages[stage_id].deps:
            if dep.path != artifact.path and pipe.is_dvc_tracked(dep.path):
                data.setdefault(dep.path, dep)
    return dict(sorted(data.items()))


def meta_files(artifact: Artifact) -> dict[str, str]:
    """Files the artifact's `meta` names (schema, environment, training), repo-relative."""
    files = {}
    for key in ("schema", "environment", "training"):
        value = artifact.meta.get(key)
        if isinstance(value, str):
            files[key] = posixpath.normpath(posixpath.join(artifact.directory, value))
    return files


def _read(repo: Path, pipe: Pipeline, paths: list[str], workspace: bool) -> dict[str, bytes | None]:
    contents = pipe.tree.read(paths)
    for path, content in contents.items():
        on_disk = repo / path
        if content is None and workspace and on_disk.is_file():
            contents[path] = on_disk.read_bytes()
    return contents


def _structured(path: str | None, contents: dict[str, bytes | None]) -> Any:
    if path is None or contents.get(path) is None:
        return None
    return parse_data_file(contents[path] or b"", path)


def _metrics(files: list[str], contents: dict[str, bytes | None]) -> dict[str, Any]:
    """Scalar metrics of every file, flattened; a key two files share is prefixed with its file."""
    per_file = {}
    for path in files:
        raw = contents.get(path)
        if raw is None:
            continue
        values = flatten(parse_data_file(raw, path) or {})
        per_file[path] = {k: v for k, v in values.items() if isinstance(v, (int, float, str, bool))}
    counts: dict[str, int] = {}
    for values in per_file.values():
        for key in values:
            counts[key] = counts.get(key, 0) + 1
    merged: dict[str, Any] = {}
    for path, values in per_file.items():
        for key, value in values.items():
            merged[key if counts[key] == 1 else f"{path}:{key}"] = value
    return merged


def _schema(
    artifact: Artifact, path: str | None, contents: dict[str, bytes | None]
) -> dict[str, Any]:
    """`features` and `schema_signature` from the declared schema (a file or inline in meta)."""
    schema = _structured(path, contents) if path else artifact.meta.get("schema")
    if path and schema is None:
        raise PipelineError(f"schema file {path} named in {artifact.dvcfile} is not in the commit")
    fields: dict[str, Any] = {}
    if isinstance(schema, dict):
        inputs = schema.get("inputs") or []
        fields["features"] = [i["name"] if isinstance(i, dict) else str(i) for i in inputs]
        fields["schema_signature"] = {
            "inputs": inputs,
            "outputs": schema.get("outputs") or [],
        }
    elif isinstance(artifact.meta.get("features"), list):
        fields["features"] = [str(f) for f in artifact.meta["features"]]
    return fields


def running_environment(requirements: bytes | None) -> dict[str, Any]:
    """The bump-time interpreter and the installed versions of the packages requirements name."""
    import importlib.metadata  # ~15 ms: only bump needs it

    packages: dict[str, str] = {}
    for line in (requirements or b"").decode("utf-8", "replace").splitlines():
        match = _REQUIREMENT_NAME.match(line)
        if not match or line.lstrip().startswith(("#", "-")):
            continue
        name = match.group(1)
        try:
            packages[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            packages[name] = "not installed"
    return {"python": platform.python_version(), "packages": packages}
