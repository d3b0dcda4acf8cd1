"""The Python API: one function per command, an explicit `repo`, frozen results. Nothing prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from modelgit import gitrepo, metadata, pipeline, registry
from modelgit.bumping import Part, is_greater, next_version
from modelgit.errors import (
    AlreadyRegisteredError,
    MetadataError,
    ModelgitError,
    TagExistsError,
    UnknownModelError,
    UnknownVersionError,
    VersionOrderError,
)
from modelgit.names import check_new_model_name, check_version, split_reference, version_tag
from modelgit.registry import Event, ModelState

__all__ = [
    "BumpResult",
    "HistoryEntry",
    "ModelSummary",
    "Part",
    "VersionInfo",
    "bump",
    "history",
    "list_models",
    "show",
]


@dataclass(frozen=True)
class ModelSummary:
    """One row of `list`: a model, its latest version and the version in each stage."""

    name: str
    latest: str | None
    stages: dict[str, str | None]
    deprecated: bool = False
    declared: bool = True


@dataclass(frozen=True)
class VersionInfo:
    """One version as `show` reports it: the tag, its commit and its metadata document."""

    model: str
    version: str
    tag: str
    commit: str
    metadata: dict[str, Any]
    stages: tuple[str, ...] = ()
    signed: bool = False
    derived: bool = False  # True when the tag carried no metadata (e.g. GTO wrote it)
    problem: str | None = None  # why the tag's own metadata could not be used


@dataclass(frozen=True)
class HistoryEntry:
    """One registry event, as `history` lists them (newest first)."""

    event: str
    version: str | None
    stage: str | None
    tag: str
    commit: str
    created_at: str
    author: str


@dataclass(frozen=True)
class BumpResult:
    """A version that `bump` created, or with `dry_run` would create."""

    model: str
    version: str
    tag: str
    previous: str | None
    commit: str
    message: str
    metadata: dict[str, Any] = field(default_factory=dict)
    dry_run: bool = False
    pushed_to: str | None = None


def _root(repo: Path | str) -> Path:
    return gitrepo.toplevel(Path(repo).resolve())


def _declared(root: Path) -> dict[str, pipeline.Artifact]:
    """Artifacts declared at HEAD, or none in a repository without commits."""
    head = gitrepo.resolve_commit(root, "HEAD")
    if head is None:
        return {}
    return pipeline.read_artifacts(pipeline.load_dvcfiles(root, head))


def _normalise(name: str) -> str:
    return name.replace("=", ":")


def _choose(names: list[str], model: str | None) -> str:
    """The model meant: `model` if given and known, else the only one there is."""
    if model is not None:
        model = _normalise(model)
        if model not in names:
            known = ", ".join(names) or "none"
            raise UnknownModelError(f"unknown model {model!r}; known models: {known}")
        return model
    if len(names) == 1:
        return names[0]
    if not names:
        raise UnknownModelError(
            "no model is declared; add one to the `artifacts:` section of dvc.yaml"
        )
    raise UnknownModelError(f"several models are declared ({', '.join(names)}); name one")


def list_models(repo: Path | str = ".") -> list[ModelSummary]:
    """Every declared or registered model with its latest version and current stages."""
    root = _root(repo)
    states = registry.read(root)
    declared = _declared(root)
    summaries = []
    for name in sorted(set(states) | set(declared)):
        state = states.get(name)
        latest = state.latest if state else None
        summaries.append(
            ModelSummary(
                name=name,
                latest=latest.version if latest else None,
                stages=dict(state.stages) if state else {},
                deprecated=state.deprecated if state else False,
                declared=name in declared,
            )
        )
    return summaries


def _state(root: Path, model: str | None) -> ModelState:
    if model is None:
        names = sorted(set(registry.read(root)) | set(_declared(root)))
        model = _choose(names, None)
    model = _normalise(model)
    state = registry.read(root, model)[model]
    if not state.events and model not in _declared(root):
        _choose(sorted(set(registry.read(root)) | set(_declared(root))), model)  # raises
    return state


def _pick(state: ModelState, version: str | None, stage: str | None) -> Event:
    if stage is not None:
        held = state.stages.get(stage)
        if held is None:
            raise UnknownVersionError(f"no version of {state.name} is in stage {stage!r}")
        version = held
    if version is None:
        if state.latest is None:
            raise UnknownVersionError(f"{state.name} has no versions yet; run `modelgit bump`")
        return state.latest
    event = state.version(version)
    if event is None:
        known = ", ".join(e.version or "" for e in state.versions[-5:]) or "none"
        raise UnknownVersionError(f"{state.name} has no version {version} (latest: {known})")
    return event


def read_metadata(root: Path, event: Event) -> tuple[dict[str, Any] | None, str | None, bool]:
    """A version tag's metadata, the reason it is unusable (if it is), and whether it is signed."""
    (raw,) = gitrepo.cat_objects(root, [event.object_id])
    if raw is None:
        return None, "tag object is missing", False
    message, signed = gitrepo.tag_message(raw)
    try:
        document = metadata.parse(message)
    except MetadataError as exc:
        return None, str(exc), signed
    if document.get("model") != event.model or document.get("version") != event.version:
        return None, "metadata names another model or version than the tag", signed
    return document, None, signed


def _derive(root: Path, event: Event) -> dict[str, Any]:
    """What the tag and its commit's dvc.lock say, for tags that carry no metadata."""
    from modelgit.describe import describe

    document: dict[str, Any] = {
        "schema": metadata.SCHEMA,
        "model": event.model,
        "version": event.version,
        "created_at": event.created_at,
        "created_by": event.author,
        "commit": event.commit,
    }
    try:
        pipe = pipeline.load(root, event.commit)
        artifact = pipeline.read_artifacts(pipe.dvcfiles).get(event.model)
        if artifact is not None:
            document.update(describe(root, pipe, artifact, workspace=False))
    except ModelgitError:
        pass  # the tag alone is all there is to show
    return document


def show(repo: Path | str = ".", reference: str | None = None) -> VersionInfo:
    """One version (`model`, `model@v1.2.3` or `model#stage`; latest by default) with metadata."""
    root = _root(repo)
    model, version, stage = split_reference(reference) if reference else (None, None, None)
    state = _state(root, model)
    event = _pick(state, version, stage)
    document, problem, signed = read_metadata(root, event)
    derived = document is None
    if document is None:
        document = _derive(root, event)
    assert event.version is not None
    return VersionInfo(
        model=state.name,
        version=event.version,
        tag=event.tag,
        commit=event.commit,
        metadata=metadata.to_jsonable(document),
        stages=tuple(s for s, v in state.stages.items() if v == event.version),
        signed=signed,
        derived=derived,
        problem=problem,
    )


def history(repo: Path | str = ".", model: str | None = None) -> list[HistoryEntry]:
    """Registrations and stage events of a model, newest first."""
    state = _state(_root(repo), model)
    return [
        HistoryEntry(
            event=e.action.value,
            version=e.version,
            stage=e.stage,
            tag=e.tag,
            commit=e.commit,
            created_at=e.created_at,
            author=e.author,
        )
        for e in state.history()
    ]


def bump(
    repo: Path | str = ".",
    part: Part | str = Part.MINOR,
    model: str | None = None,
    version: str | None = None,
    dry_run: bool = False,
    message: str | None = None,
    push: bool = False,
) -> BumpResult:
    """Register the model at HEAD as a new version: an annotated tag carrying its metadata."""
    from modelgit.describe import describe
    from modelgit.workspace import check_clean

    part = Part(part)
    root = _root(repo)
    commit = gitrepo.head_commit(root)
    pipe = pipeline.load(root, commit)
    artifacts = pipeline.read_artifacts(pipe.dvcfiles)
    artifact = artifacts[_choose(sorted(artifacts), model)]
    check_new_model_name(artifact.name)
    explicit = check_version(version) if version else None
    check_clean(root, pipe, artifact)
    facts = describe(root, pipe, artifact, workspace=True)
    for attempt in (1, 2):
        result = _plan(root, artifact.name, part, explicit, commit, facts, message)
        if dry_run:
            return BumpResult(**{**result.__dict__, "dry_run": True})
        try:
            gitrepo.create_tag(root, result.tag, commit, result.message)
        except TagExistsError:
            # Another bump won the race for this tag: re-read the registry once and retry.
            if explicit or attempt == 2:
                raise
            continue
        if push:
            gitrepo.push_tag(root, result.tag)
            return BumpResult(**{**result.__dict__, "pushed_to": "origin"})
        return result
    raise AssertionError("unreachable")  # pragma: no cover


def _plan(
    root: Path,
    model: str,
    part: Part,
    explicit: str | None,
    commit: str,
    facts: dict[str, Any],
    message: str | None,
) -> BumpResult:
    """Decide the version and compose the tag message, refusing what must not be tagged."""
    state = registry.read(root, model)[model]
    latest = state.latest
    previous = latest.version if latest else None
    new = explicit or next_version(previous, part)
    if not is_greater(new, previous):
        raise VersionOrderError(f"version {new} is not greater than the latest, {previous}")
    tag = version_tag(model, new)
    if any(e.tag == tag for e in state.events):
        raise TagExistsError(f"tag {tag!r} already exists; tags are never moved")
    previous_doc: dict[str, Any] = {}
    if latest is not None:
        previous_doc = read_metadata(root, latest)[0] or _derive(root, latest)
        if (previous_doc.get("artifact") or {}).get("md5") == facts["artifact"]["md5"]:
            raise AlreadyRegisteredError(
                f"the artifact {facts['artifact']['path']} at HEAD is already registered as "
                f"v{latest.version} ({latest.tag}); change the model before cutting a new version"
            )
    document: dict[str, Any] = {
        "schema": metadata.SCHEMA,
        "model": model,
        "version": new,
        "previous": previous,
        "bump": {"level": part.value if not explicit else "explicit", "reasons": []},
        "created_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "created_by": gitrepo.identity(root),
        "commit": commit,
        **facts,
    }
    subject = _subject(model, new, document["bump"]["level"], previous_doc, facts, message)
    return BumpResult(
        model=model,
        version=new,
        tag=tag,
        previous=previous,
        commit=commit,
        message=metadata.dump(subject, document),
        metadata=metadata.to_jsonable(document),
    )


def _subject(
    model: str,
    version: str,
    level: str,
    previous: dict[str, Any],
    facts: dict[str, Any],
    message: str | None,
) -> str:
    """`churn v1.3.0: minor bump, accuracy 0.931 -> 0.945` (or the user's own message)."""
    head = f"{model} v{version}"
    if message:
        return f"{head}: {message.strip().splitlines()[0]}"
    metrics = facts.get("metrics") or {}
    key = next((k for k in metrics if isinstance(metrics[k], (int, float))), None)
    if key is None:
        return f"{head}: {level} bump"
    old = (previous.get("metrics") or {}).get(key)
    change = f"{old} -> {metrics[key]}" if old is not None else f"{metrics[key]}"
    return f"{head}: {level} bump, {key} {change}"
