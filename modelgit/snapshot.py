"""One model as one tree (a commit or the work tree) has it: the facts a comparison needs."""

from __future__ import annotations

import hashlib
import posixpath
from dataclasses import dataclass, field
from typing import Any

from modelgit.describe import Lineage, locate, meta_files, upstream_data
from modelgit.dvcproject import read_cached, read_through_dvc
from modelgit.errors import ModelgitError
from modelgit.pipeline import (
    Artifact,
    FileEntry,
    Pipeline,
    flatten,
    load,
    parse_data_file,
    read_artifacts,
)
from modelgit.trees import Tree


@dataclass(frozen=True)
class Snapshot:
    """A model at one tree; `exists` is False where the model is not declared or not tracked."""

    label: str
    commit: str | None
    model: str
    exists: bool
    artifact: FileEntry | None = None
    data: dict[str, FileEntry] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)  # file -> flat metrics
    problems: tuple[str, ...] = ()  # metrics files that could not be read, and why
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> {cmd, code}
    features: dict[str, str] | None = None  # input name -> type
    outputs: dict[str, str] | None = None
    directions: dict[str, str] = field(default_factory=dict)  # metric -> higher|lower


def take(tree: Tree, model: str, label: str) -> Snapshot:
    """The snapshot of `model` in `tree`; an undeclared model gives an empty one."""
    pipe = load(tree)
    artifact = read_artifacts(pipe.dvcfiles).get(model)
    if artifact is None:
        return Snapshot(label, tree.commit, model, exists=False)
    try:
        lineage = locate(pipe, artifact)
    except ModelgitError:
        return Snapshot(label, tree.commit, model, exists=False)
    metric_files = [m for sid in lineage.evaluating for m in pipe.stages[sid].metrics]
    schema_file = meta_files(artifact).get("schema")
    code = _code_paths(pipe, lineage)
    params_files = sorted({f for sid in lineage.upstream for f in pipe.stages[sid].params})
    wanted = list(dict.fromkeys([*metric_files, *params_files, *code, schema_file or ""]))
    contents = tree.read([p for p in wanted if p])
    metrics, problems = _metrics(tree, pipe, metric_files, contents)
    features, outputs = _signature(artifact, schema_file, contents)
    return Snapshot(
        label=label,
        commit=tree.commit,
        model=model,
        exists=True,
        artifact=lineage.artifact,
        data=upstream_data(pipe, lineage, artifact),
        params=_params(pipe, lineage, contents),
        metrics=metrics,
        problems=tuple(problems),
        stages=_stages(pipe, lineage, contents),
        features=features,
        outputs=outputs,
        directions=_directions(artifact),
    )


def _code_paths(pipe: Pipeline, lineage: Lineage) -> list[str]:
    """Dependencies of the upstream stages that git (not DVC) tracks: the pipeline's code."""
    return [
        dep.path
        for sid in lineage.upstream
        for dep in pipe.stages[sid].deps
        if not pipe.is_dvc_tracked(dep.path)
    ]


def _params(pipe: Pipeline, lineage: Lineage, contents: dict[str, bytes | None]) -> dict[str, Any]:
    """Values of the params the upstream stages declare, read from the params files of the tree.

    dvc.lock names the keys; the values come from the files, as `dvc params diff` reads them,
    so that a changed but not yet reproduced params.yaml shows in a workspace diff.
    """
    params: dict[str, Any] = {}
    parsed: dict[str, Any] = {}
    for stage_id in lineage.upstream:
        stage = pipe.stages[stage_id]
        default = posixpath.join(posixpath.dirname(stage.dvcfile), "params.yaml")
        for path, recorded in stage.params.items():
            if path not in parsed:
                raw = contents.get(path)
                parsed[path] = parse_data_file(raw, path) if raw is not None else {}
            prefix = "" if posixpath.normpath(path) == posixpath.normpath(default) else f"{path}:"
            for key in recorded or {}:
                value = _lookup(parsed[path], str(key))
                if value is _MISSING:
                    continue
                for name, leaf in flatten({str(key): value}).items():
                    params[f"{prefix}{name}"] = leaf
    return dict(sorted(params.items()))


_MISSING = object()


def _lookup(document: Any, dotted: str) -> Any:
    current = document
    for part in dotted.split("."):
        if not isinstance(current, dict) or part not in current:
            return _MISSING
        current = current[part]
    return current


def _metrics(
    tree: Tree, pipe: Pipeline, files: list[str], contents: dict[str, bytes | None]
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    metrics: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for path in files:
        raw = contents.get(path)
        if raw is None:
            entry = pipe.entry(path)
            md5 = entry.md5 if entry is not None and pipe.in_dvc_cache(path) else None
            cached = md5 is not None
            if md5 is not None:
                raw = read_cached(tree.repo, md5) or read_through_dvc(tree.repo, path, tree.commit)
            if raw is None:
                problems.append(
                    f"{path} at {tree.label} is kept by DVC and is in neither the cache nor the "
                    "remote; run `dvc push` where it was made"
                    if cached
                    else f"{path} is missing at {tree.label}"
                )
                continue
        try:
            values = flatten(parse_data_file(raw, path) or {})
        except ModelgitError as exc:
            problems.append(str(exc))
            continue
        metrics[path] = {k: v for k, v in values.items() if not isinstance(v, (dict, list))}
    return metrics, problems


def _stages(
    pipe: Pipeline, lineage: Lineage, contents: dict[str, bytes | None]
) -> dict[str, dict[str, Any]]:
    """Each upstream stage's command and the md5 of each code dependency as the tree has it."""
    stages = {}
    for stage_id in lineage.upstream:
        stage = pipe.stages[stage_id]
        code = {}
        for dep in stage.deps:
            if not pipe.is_dvc_tracked(dep.path):
                raw = contents.get(dep.path)
                code[dep.path] = hashlib.md5(raw).hexdigest() if raw is not None else dep.md5
        stages[stage.name] = {"cmd": stage.cmd, "code": code}
    return stages


def _signature(
    artifact: Artifact, schema_file: str | None, contents: dict[str, bytes | None]
) -> tuple[dict[str, str] | None, dict[str, str] | None]:
    schema: Any = artifact.meta.get("schema")
    if schema_file is not None:
        raw = contents.get(schema_file)
        schema = parse_data_file(raw, schema_file) if raw is not None else None
    if not isinstance(schema, dict):
        features = artifact.meta.get("features")
        return ({str(f): "" for f in features} if isinstance(features, list) else None), None
    return _fields(schema.get("inputs")), _fields(schema.get("outputs"))


def _fields(items: Any) -> dict[str, str]:
    fields = {}
    for item in items or []:
        if isinstance(item, dict) and "name" in item:
            fields[str(item["name"])] = str(item.get("type", ""))
        else:
            fields[str(item)] = ""
    return fields


def _directions(artifact: Artifact) -> dict[str, str]:
    directions = {}
    for key, direction in (("higher_is_better", "higher"), ("lower_is_better", "lower")):
        for name in artifact.meta.get(key) or []:
            directions[str(name)] = direction
    return directions
