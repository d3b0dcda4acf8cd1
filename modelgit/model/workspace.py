"""Refuse to tag a workspace that differs from the commit to tag, saying exactly what differs."""

from __future__ import annotations

import posixpath
from pathlib import Path

from modelgit.errors import DirtyWorkspaceError, StalePipelineError
from modelgit.model.facts import ArtifactStages, dependency_paths, locate, meta_files
from modelgit.sources import dvc, git
from modelgit.sources.pipeline import DVCFILE, LOCKFILE, Artifact, Pipeline

_ALWAYS = (DVCFILE, LOCKFILE, "params.yaml")


def relevant(path: str, watched: set[str]) -> bool:
    """True when a changed path is a pipeline file or lies at or under a watched path."""
    if posixpath.basename(path) in _ALWAYS or path.endswith(".dvc"):
        return not path.startswith(".dvc/")
    return any(path == w or path.startswith(w.rstrip("/") + "/") for w in watched)


def check_clean(root: Path, pipe: Pipeline, artifact: Artifact) -> None:
    """Raise unless git and `dvc status` agree the workspace is what HEAD records for the model."""
    dvc.require_dvc_project(root)
    lineage = locate(pipe, artifact)
    watched = set(dependency_paths(pipe, lineage))
    watched.update(meta_files(artifact).values())
    dirty = {path: code for path, code in git.dirty_paths(root).items() if relevant(path, watched)}
    if dirty:
        listed = ", ".join(f"{path} ({_describe(code)})" for path, code in sorted(dirty.items()))
        raise DirtyWorkspaceError(
            f"uncommitted changes to {listed}; commit or stash them before cutting a version"
        )
    stale = dvc.stale(root, stages_to_check(pipe, lineage, artifact))
    if stale:
        detail = "; ".join(f"{stage}: {', '.join(changes)}" for stage, changes in stale.items())
        raise StalePipelineError(
            f"the pipeline is not up to date with dvc.lock ({detail}); run `dvc repro` "
            "(or `dvc pull` for missing outputs) and commit dvc.lock"
        )


def stages_to_check(
    pipe: Pipeline, lineage: ArtifactStages, artifact: Artifact
) -> dict[str, set[str] | None]:
    """What `dvc status --with-deps` of the stages evaluating the model would check: those
    stages and every stage upstream of them (by dvc.yaml), and the .dvc files of their data."""
    names: dict[str, set[str]] = {}  # dvc.yaml -> stage names
    trackers: set[str] = set()  # .dvc files
    pending = list(lineage.evaluating)
    seen: set[str] = set()
    while pending:
        stage_id = pending.pop()
        if stage_id in seen:
            continue
        seen.add(stage_id)
        stage = pipe.stages[stage_id]
        names.setdefault(stage.dvcfile, set()).add(stage.name)
        for dep in stage.deps:
            pending.extend(pipe.dependency_producers(dep.path))
            trackers.update(filter(None, [pipe.dvc_file_of(dep.path)]))
    if not lineage.evaluating:  # tracked by a .dvc file rather than produced by a stage
        trackers.add(pipe.dvc_file_of(artifact.path) or f"{artifact.path}.dvc")
    return {**names, **dict.fromkeys(sorted(trackers))}


def _describe(code: str) -> str:
    if code == "??":
        return "untracked"
    if "D" in code:
        return "deleted"
    if "A" in code:
        return "added"
    return "modified"
