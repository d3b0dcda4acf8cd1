"""The one reader of what a tree (a commit or the work tree) says about one model.

Hashes come from dvc.lock / .dvc files (never re-hashed), params both as dvc.lock recorded them
and as the params files now hold them, metrics from the metrics files of the stages that
evaluate the model (falling back to the DVC cache, then the DVC remote, for cached outputs),
the declared schema, metric directions and the key metric. Comparisons, bump's metadata,
verify and the registry views all read a model through `read`.
"""

from __future__ import annotations

import hashlib
import platform
import posixpath
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from modelgit.errors import ModelgitError, PipelineError
from modelgit.model import inputs as upstream_inputs
from modelgit.model.metrics import directions_of, key_metric, merged_metrics
from modelgit.model.parents import parent_versions
from modelgit.registry.metadata import fingerprint
from modelgit.sources import dvc
from modelgit.sources.pipeline import (
    DEFAULT_PARAMS,
    Artifact,
    FileEntry,
    Pipeline,
    declared_paths,
    flatten,
    load,
    lookup,
    params_of,
    parse_data_file,
    read_artifacts,
)
from modelgit.sources.tree import Tree

REQUIREMENTS = "requirements.txt"
_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_META_FILES = ("schema", "environment", "training")


@dataclass(frozen=True)
class ArtifactStages:
    """The stages around one artifact in a pipeline."""

    artifact: FileEntry
    upstream: list[str]  # stage ids that produce the artifact, producers first
    evaluating: list[str]  # the producing stage and every stage that reads the artifact


@dataclass(frozen=True)
class Reads:
    """What is read for a model's metrics and params: its metrics files, and each param as
    (file, key, prefix), the prefix being `file:` for a file other than the stage's
    params.yaml, as `params_of` names them."""

    metric_files: tuple[str, ...]
    params: tuple[tuple[str, str, str], ...]


@dataclass(frozen=True)
class Facts:
    """A model as one tree has it; `exists` is False where it is not declared or not tracked."""

    label: str
    commit: str | None
    model: str
    exists: bool
    artifact: FileEntry | None = None
    data: dict[str, FileEntry] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)  # as the params files hold them
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)  # file -> flat metrics
    problems: tuple[str, ...] = ()  # metrics files that could not be read, and why
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> {cmd, code}
    features: dict[str, str] | None = None  # input name -> type
    outputs: dict[str, str] | None = None
    directions: dict[str, str] = field(default_factory=dict)  # metric -> higher|lower
    preferred_metric: str | None = None  # the declaration's `meta.key_metric`
    # How the facts were found: `declared` (the tree declares the model), `borrowed` (located
    # through the other side's declaration), `files` (the files the other side's declaration
    # reads), `project` (every metrics and params file: the model is declared at neither side)
    # or `absent` (nothing to read: no version yet).
    basis: str = "declared"
    reads: Reads | None = None  # the metrics and params files read, to read again elsewhere
    declaration: Artifact | None = None

    @property
    def flat_metrics(self) -> dict[str, Any]:
        """Every file's metrics in one mapping, named as comparisons name them."""
        return merged_metrics(self.metrics)

    @property
    def key_metric(self) -> str | None:
        """The metric to headline for this model."""
        return key_metric(self.flat_metrics, self.directions, self.preferred_metric)


def locate(pipe: Pipeline, artifact: Artifact) -> ArtifactStages:
    """Find the artifact's hash record and its stages; refuse an artifact DVC does not track."""
    entry = pipe.entry(artifact.path)
    if entry is None or entry.md5 is None:
        raise PipelineError(
            f"{artifact.path} (model {artifact.name}) has no hash in dvc.lock or a .dvc file at "
            f"{pipe.tree.label}; run `dvc repro` (or `dvc add`) and commit"
        )
    return ArtifactStages(entry, pipe.upstream(artifact.path), pipe.downstream(artifact.path))


def read(tree: Tree, model: str, label: str | None = None, *, workspace: bool = False) -> Facts:
    """What `tree` says about `model`; an undeclared or untracked model gives empty facts.

    `workspace` says the work tree is known to match the commit (bump checks that first), so
    files DVC keeps out of git may be read from disk.
    """
    pipe = load(tree)
    return read_pipeline(pipe, model, label, workspace=workspace)


def read_pipeline(
    pipe: Pipeline, model: str, label: str | None = None, *, workspace: bool = False
) -> Facts:
    """`read` for a pipeline already loaded."""
    label = label or pipe.tree.label
    artifact = read_artifacts(pipe.dvcfiles).get(model)
    if artifact is None:
        return Facts(label, pipe.tree.commit, model, exists=False)
    try:
        lineage = locate(pipe, artifact)
    except ModelgitError:
        return Facts(label, pipe.tree.commit, model, exists=False, declaration=artifact)
    return _read(pipe, artifact, lineage, label, workspace)[0]


def read_pair(
    a: Tree | None, b: Tree | None, model_a: str, model_b: str, labels: tuple[str, str]
) -> tuple[Facts, Facts]:
    """Both sides of a comparison, each reading whatever is known about its model there.

    A side that does not declare the model (an older commit, a registry GTO wrote) is read
    through the other side's declaration, or failing that the files that declaration reads;
    when neither side declares it, both read every metrics and params file of their pipeline,
    as `dvc metrics diff` and `dvc params diff` do. A side without a tree (no version yet)
    has nothing to read.
    """
    pipes = [load(tree) if tree is not None else None for tree in (a, b)]
    sides = [
        read_pipeline(pipe, model, label) if pipe is not None else _absent(label, model)
        for pipe, model, label in zip(pipes, (model_a, model_b), labels, strict=True)
    ]
    if model_a != model_b or all(s.exists or s.basis == "absent" for s in sides):
        return sides[0], sides[1]
    known = next((s for s in sides if s.exists), None)
    for index, (pipe, side) in enumerate(zip(pipes, sides, strict=True)):
        if pipe is not None and not side.exists:
            sides[index] = _read_undeclared(pipe, side, known)
    return sides[0], sides[1]


def _absent(label: str, model: str) -> Facts:
    return Facts(label, None, model, exists=False, basis="absent")


def _read_undeclared(pipe: Pipeline, side: Facts, known: Facts | None) -> Facts:
    """A side that does not declare its model, read as `read_pair` says."""
    declaration = side.declaration or (known.declaration if known is not None else None)
    if declaration is not None and known is not None:
        try:
            lineage = locate(pipe, declaration)
        except ModelgitError:
            pass
        else:
            found = _read(pipe, declaration, lineage, side.label, False)[0]
            note = (
                f"{side.model} is not declared at {side.label}; read through its declaration "
                f"at {known.label} ({declaration.path})"
            )
            return replace(found, basis="borrowed", problems=(note, *found.problems))
    if known is not None and known.reads is not None:
        reads, basis = known.reads, "files"
        note = (
            f"{side.model} is not declared or tracked at {side.label}; compared the metrics "
            f"and params files its declaration at {known.label} reads"
        )
    else:
        reads, basis = project_reads(pipe), "project"
        note = (
            f"{side.model} is declared at neither side; compared every metrics and params "
            f"file of the pipeline at {side.label}, as `dvc metrics diff`/`params diff` do"
        )
    metrics, params, problems = _read_files(pipe, reads, workspace=False)
    return replace(
        side, metrics=metrics, params=params, problems=(note, *problems), basis=basis, reads=reads
    )


def project_reads(pipe: Pipeline) -> Reads:
    """Every metrics file and param of a pipeline (the top-level `metrics:` included)."""
    files = [m for stage in pipe.stages.values() for m in stage.metrics]
    for dvcfile, document in pipe.dvcfiles.items():
        if posixpath.basename(dvcfile) == "dvc.yaml":
            directory = posixpath.dirname(dvcfile)
            files += [
                posixpath.normpath(posixpath.join(directory, path))
                for path in declared_paths(document.get("metrics"))
            ]
    return Reads(tuple(dict.fromkeys(files)), _params_spec(pipe, list(pipe.stages)))


def _read_files(
    pipe: Pipeline, reads: Reads, *, workspace: bool
) -> tuple[dict[str, dict[str, Any]], dict[str, Any], list[str]]:
    """Metrics and params as `reads` names them, from the pipeline's tree."""
    params_files = sorted({file for file, _, _ in reads.params})
    wanted = list(dict.fromkeys([*reads.metric_files, *params_files]))
    contents = read_files(pipe.tree, wanted, workspace=workspace)
    metrics, problems = _metrics(pipe.tree, pipe, list(reads.metric_files), contents)
    return metrics, _param_values(reads.params, contents), problems


def _read(
    pipe: Pipeline, artifact: Artifact, lineage: ArtifactStages, label: str, workspace: bool
) -> tuple[Facts, dict[str, bytes | None]]:
    """The facts of a located artifact, and the file contents they were read from."""
    tree = pipe.tree
    metric_files = metrics_files(pipe, lineage)
    schema_file = meta_files(artifact).get("schema")
    code = _code_paths(pipe, lineage)
    reads = Reads(tuple(metric_files), _params_spec(pipe, lineage.upstream))
    params_files = sorted({file for file, _, _ in reads.params})
    wanted = [*metric_files, *params_files, *code, *([schema_file] if schema_file else [])]
    contents = read_files(tree, list(dict.fromkeys(wanted)), workspace=workspace)
    metrics, problems = _metrics(tree, pipe, metric_files, contents)
    features, outputs = _signature(artifact, schema_file, contents)
    preferred = artifact.meta.get("key_metric")
    facts = Facts(
        label=label,
        commit=tree.commit,
        model=artifact.name,
        exists=True,
        artifact=lineage.artifact,
        data=upstream_data(pipe, lineage, artifact),
        params=_param_values(reads.params, contents),
        metrics=metrics,
        problems=tuple(problems),
        stages=_stages(pipe, lineage, contents),
        features=features,
        outputs=outputs,
        directions=directions_of(artifact),
        preferred_metric=str(preferred) if preferred else None,
        reads=reads,
        declaration=artifact,
    )
    return facts, contents


def metadata_fields(
    repo: Path, pipe: Pipeline, artifact: Artifact, *, workspace: bool, list_all_data: bool = False
) -> dict[str, Any]:
    """The metadata fields a commit determines for `artifact` (everything but version facts).

    With `workspace`, the running interpreter describes the environment when the pipeline
    records none; with `list_all_data`, every intermediate output is listed in `data` (see
    `model.inputs.recorded`).
    """
    lineage = locate(pipe, artifact)
    facts, read = _read(pipe, artifact, lineage, pipe.tree.label, workspace)
    data, intermediate = upstream_inputs.recorded(pipe, facts.data, list_all=list_all_data)
    params = params_of(pipe, lineage.upstream)
    declared = meta_files(artifact)
    requirements = posixpath.join(artifact.directory, REQUIREMENTS)
    wanted = [declared[k] for k in ("environment", "training") if k in declared]
    contents = read_files(pipe.tree, [*wanted, requirements, REQUIREMENTS], workspace=workspace)
    document: dict[str, Any] = {
        "artifact": {
            "path": artifact.path,
            "hash": "md5",
            "md5": lineage.artifact.md5,
            "size": lineage.artifact.size,
        },
        "fingerprint": fingerprint(lineage.artifact.md5 or "", params, data),
        "data": data,
        **({"intermediate": intermediate} if intermediate else {}),
        "stages": [pipe.stages[sid].name for sid in lineage.upstream],
        "params": params,
        "metrics": facts.flat_metrics,
    }
    document.update(_schema_fields(artifact, declared.get("schema"), read))
    environment = _structured(declared.get("environment"), contents)
    if environment is None and workspace:
        reqs = contents.get(requirements) or contents.get(REQUIREMENTS)
        environment = running_environment(reqs)
    if environment is not None:
        document["environment"] = environment
    document["parents"] = parent_versions(repo, pipe, artifact)
    training = _structured(declared.get("training"), contents)
    if training is not None:
        document["training"] = training
    return document


def read_files(tree: Tree, paths: list[str], *, workspace: bool = False) -> dict[str, bytes | None]:
    """The contents of `paths` in the tree; with `workspace`, files git lacks are read from disk."""
    contents = tree.read(paths)
    if workspace and tree.commit is not None:
        for path, content in contents.items():
            on_disk = tree.repo / path
            if content is None and on_disk.is_file():
                contents[path] = on_disk.read_bytes()
    return contents


def metrics_files(pipe: Pipeline, lineage: ArtifactStages) -> list[str]:
    """The metrics files of the stages that evaluate the model."""
    return list(dict.fromkeys(m for sid in lineage.evaluating for m in pipe.stages[sid].metrics))


def dependency_paths(pipe: Pipeline, lineage: ArtifactStages) -> list[str]:
    """Every path the upstream and evaluating stages name as a dependency, output or params file."""
    paths: dict[str, None] = {}
    for stage_id in dict.fromkeys(lineage.upstream + lineage.evaluating):
        stage = pipe.stages[stage_id]
        paths.update(dict.fromkeys(dep.path for dep in stage.deps))
        paths.update(dict.fromkeys(out.path for out in stage.outs))
        paths.update(dict.fromkeys(stage.params))
    return list(paths)


def upstream_data(
    pipe: Pipeline, lineage: ArtifactStages, artifact: Artifact
) -> dict[str, FileEntry]:
    """DVC-tracked dependencies of the upstream stages by path, the artifact itself excluded.

    A dependency on a folder that holds outputs or .dvc-tracked paths (`data` for
    `data/train.csv`) is recorded as those, with the hashes dvc.lock or the .dvc file gives.
    """
    data: dict[str, FileEntry] = {}
    for stage_id in lineage.upstream:
        for dep in pipe.stages[stage_id].deps:
            if dep.path != artifact.path and pipe.is_dvc_tracked(dep.path):
                data.setdefault(dep.path, dep)
                continue
            for inside in [*pipe.outputs_inside(dep.path), *pipe.tracked_inside(dep.path)]:
                entry = pipe.entry(inside)
                if inside != artifact.path and entry is not None:
                    data.setdefault(inside, entry)
    return dict(sorted(data.items()))


def meta_files(artifact: Artifact) -> dict[str, str]:
    """Files the artifact's `meta` names (schema, environment, training), repo-relative."""
    files = {}
    for key in _META_FILES:
        value = artifact.meta.get(key)
        if isinstance(value, str):
            files[key] = posixpath.normpath(posixpath.join(artifact.directory, value))
    return files


def read_documents(repo: Path, events: list[Any]) -> dict[str, dict[str, Any]]:
    """Each version's metadata by tag: its own, or derived from its commit when it has none."""
    from modelgit.registry.lookup import read_metadata_many

    parsed = read_metadata_many(repo, events)
    return {e.tag: parsed[e.tag][0] or derive_metadata(repo, e) for e in events}


def derive_metadata(repo: Path, event: Any) -> dict[str, Any]:
    """What the tag and its commit's dvc.lock say, for tags that carry no metadata (GTO's)."""
    from modelgit.registry import metadata

    document: dict[str, Any] = {
        "schema": metadata.SCHEMA,
        "model": event.model,
        "version": event.version,
        "created_at": event.created_at,
        "created_by": event.author,
        "commit": event.commit,
    }
    try:
        pipe = load(Tree(repo, event.commit))
        artifact = read_artifacts(pipe.dvcfiles).get(event.model)
        if artifact is not None:
            document.update(metadata_fields(repo, pipe, artifact, workspace=False))
    except ModelgitError:
        pass  # the tag alone is all there is to show
    return document


def _code_paths(pipe: Pipeline, lineage: ArtifactStages) -> list[str]:
    """Dependencies of the upstream stages that git (not DVC) tracks: the pipeline's code."""
    return [
        dep.path
        for sid in lineage.upstream
        for dep in pipe.stages[sid].deps
        if not pipe.is_data(dep.path)
    ]


def _params_spec(pipe: Pipeline, stage_ids: list[str]) -> tuple[tuple[str, str, str], ...]:
    """Each param the stages declare as (file, key, prefix): dvc.lock names the keys, and a
    key from a non-default params file is shown as `file:key`, as `params_of` shows it."""
    spec: dict[tuple[str, str], str] = {}
    for stage_id in stage_ids:
        stage = pipe.stages[stage_id]
        default = posixpath.join(posixpath.dirname(stage.dvcfile), DEFAULT_PARAMS)
        for path, recorded in stage.params.items():
            prefix = "" if posixpath.normpath(path) == posixpath.normpath(default) else f"{path}:"
            for key in recorded or {}:
                spec.setdefault((path, str(key)), prefix)
    return tuple((path, key, prefix) for (path, key), prefix in spec.items())


def _param_values(
    spec: tuple[tuple[str, str, str], ...], contents: dict[str, bytes | None]
) -> dict[str, Any]:
    """Values of the params `spec` names, read from the params files of the tree.

    The values come from the files (parsed by extension, as DVC parses them), as `dvc params
    diff` reads them, so that a changed but not yet reproduced params file shows in a
    workspace diff.
    """
    params: dict[str, Any] = {}
    parsed: dict[str, Any] = {}
    for path, key, prefix in spec:
        if path not in parsed:
            raw = contents.get(path)
            parsed[path] = parse_data_file(raw, path) if raw is not None else {}
        found, value = lookup(parsed[path], key)
        if not found:
            continue
        for name, leaf in flatten({key: value}).items():
            params[f"{prefix}{name}"] = leaf
    return dict(sorted(params.items()))


def _metrics(
    tree: Tree, pipe: Pipeline, files: list[str], contents: dict[str, bytes | None]
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Each metrics file's flat metrics (numbers and text, as `dvc metrics show` keeps them),
    and why a file could not be read: one note per file, never silence."""
    metrics: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for path in files:
        raw = contents.get(path)
        if raw is None:
            raw, problem = _cached_metrics(tree, pipe, path)
            if raw is None:
                problems.append(problem)
                continue
        try:
            values = flatten(parse_data_file(raw, path) or {})
        except ModelgitError as exc:
            problems.append(str(exc))
            continue
        metrics[path] = {k: v for k, v in values.items() if not isinstance(v, (dict, list))}
    return metrics, problems


def _cached_metrics(tree: Tree, pipe: Pipeline, path: str) -> tuple[bytes | None, str]:
    """A metrics file git does not hold: from the local DVC cache, else the default DVC remote
    (by the md5 dvc.lock records); else None and the note that says what to do."""
    entry = pipe.entry(path)
    md5 = entry.md5 if entry is not None and pipe.in_dvc_cache(path) else None
    if md5 is None:
        return None, f"{path} is missing at {tree.label}"
    raw = dvc.read_cached(tree.repo, md5)
    if raw is not None:
        return raw, ""
    note = f"{path} is a DVC-cached output not present here (at {tree.label}); `dvc pull` it"
    try:
        remote = dvc.default_remote_url(tree.repo)
    except ModelgitError as exc:
        return None, f"{note} ({exc})"
    if remote is None:
        return None, f"{note} (no DVC remote is configured to read it from)"
    opener = dvc.open_remote(tree.repo, md5)
    if opener is not None:
        try:
            with opener() as stream:
                return bytes(stream.read()), ""
        except OSError:
            pass
    return None, f"{note}; the DVC remote {remote} lacks it too: `dvc push` it where it was made"


def _stages(
    pipe: Pipeline, lineage: ArtifactStages, contents: dict[str, bytes | None]
) -> dict[str, dict[str, Any]]:
    """Each upstream stage's command and the md5 of each code dependency as the tree has it."""
    stages = {}
    for stage_id in lineage.upstream:
        stage = pipe.stages[stage_id]
        code = {}
        for dep in stage.deps:
            if not pipe.is_data(dep.path):
                raw = contents.get(dep.path)
                code[dep.path] = hashlib.md5(raw).hexdigest() if raw is not None else dep.md5
        stages[stage.name] = {"cmd": stage.cmd, "code": code}
    return stages


def _schema(artifact: Artifact, path: str | None, contents: dict[str, bytes | None]) -> Any:
    """The declared schema document (a file the meta names, or inline in meta), or None."""
    if path is None:
        return artifact.meta.get("schema")
    raw = contents.get(path)
    return parse_data_file(raw, path) if raw is not None else None


def _signature(
    artifact: Artifact, schema_file: str | None, contents: dict[str, bytes | None]
) -> tuple[dict[str, str] | None, dict[str, str] | None]:
    schema = _schema(artifact, schema_file, contents)
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


def _schema_fields(
    artifact: Artifact, path: str | None, contents: dict[str, bytes | None]
) -> dict[str, Any]:
    """`features` and `schema_signature` as the metadata document records them."""
    schema = _schema(artifact, path, contents)
    if path and schema is None:
        raise PipelineError(f"schema file {path} named in {artifact.dvcfile} is not in the commit")
    fields: dict[str, Any] = {}
    if isinstance(schema, dict):
        inputs = schema.get("inputs") or []
        fields["features"] = [i["name"] if isinstance(i, dict) else str(i) for i in inputs]
        fields["schema_signature"] = {"inputs": inputs, "outputs": schema.get("outputs") or []}
    elif isinstance(artifact.meta.get("features"), list):
        fields["features"] = [str(f) for f in artifact.meta["features"]]
    return fields


def _structured(path: str | None, contents: dict[str, bytes | None]) -> Any:
    if path is None or contents.get(path) is None:
        return None
    return parse_data_file(contents[path] or b"", path)


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
