"""The Python API: one function per command, an explicit `repo`, frozen results. Nothing prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelgit import gitrepo, metadata, pipeline, registry
from modelgit.bumping import Part, is_greater, next_version
from modelgit.errors import (
    AlreadyRegisteredError,
    PipelineError,
    TagExistsError,
    VersionOrderError,
)
from modelgit.names import check_new_model_name, check_version, split_reference, version_tag
from modelgit.resolve import (
    choose,
    declared,
    derive_metadata,
    model_state,
    pick,
    read_metadata,
    root_of,
)
from modelgit.trees import Tree

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
    level: str = ""
    reasons: tuple[str, ...] = ()


def list_models(repo: Path | str = ".") -> list[ModelSummary]:
    """Every declared or registered model with its latest version and current stages."""
    root = root_of(repo)
    states = registry.read(root)
    known = declared(root)
    summaries = []
    for name in sorted(set(states) | set(known)):
        state = states.get(name)
        latest = state.latest if state else None
        summaries.append(
            ModelSummary(
                name=name,
                latest=latest.version if latest else None,
                stages=dict(state.stages) if state else {},
                deprecated=state.deprecated if state else False,
                declared=name in known,
            )
        )
    return summaries


def show(repo: Path | str = ".", reference: str | None = None) -> VersionInfo:
    """One version (`model`, `model@v1.2.3` or `model#stage`; latest by default) with metadata."""
    root = root_of(repo)
    model, version, stage = split_reference(reference) if reference else (None, None, None)
    state = model_state(root, model)
    event = pick(state, version, stage)
    document, problem, signed = read_metadata(root, event)
    derived = document is None
    if document is None:
        document = derive_metadata(root, event)
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
    state = model_state(root_of(repo), model)
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


AUTO = "auto"


def bump(
    repo: Path | str = ".",
    part: Part | str = Part.MINOR,
    model: str | None = None,
    version: str | None = None,
    dry_run: bool = False,
    message: str | None = None,
    push: bool = False,
    explain: bool = False,
    sign: bool = False,
    require_pushed: bool = False,
    allow_unsafe_pickle: bool = False,
) -> BumpResult:
    """Register the model at HEAD as a new version: an annotated tag carrying its metadata.

    `part` is major, minor, patch or auto (decided from what changed since the latest
    version; the reasons go into `bump.reasons`). `explain` plans without tagging, like
    `dry_run`, so the decision and its reasons can be read first. `sign` signs the tag with
    git's own signing (GPG or SSH, from git config); `require_pushed` refuses an artifact the
    DVC remote lacks; pickle artifacts whose globals execute code are refused unless
    `allow_unsafe_pickle`.
    """
    from modelgit.describe import describe
    from modelgit.workspace import check_clean

    level = AUTO if part == AUTO else Part(part)
    root = root_of(repo)
    commit = gitrepo.head_commit(root)
    pipe = pipeline.load(Tree(root, commit))
    artifacts = pipeline.read_artifacts(pipe.dvcfiles)
    artifact = artifacts[choose(sorted(artifacts), model)]
    check_new_model_name(artifact.name)
    explicit = check_version(version) if version else None
    check_clean(root, pipe, artifact)
    facts = describe(root, pipe, artifact, workspace=True)
    if not allow_unsafe_pickle:
        _refuse_unsafe_pickle(root / artifact.path)
    if require_pushed:
        _refuse_unpushed(root, artifact.path, str(facts["artifact"]["md5"]))
    for attempt in (1, 2):
        plan = _Plan(root, pipe, artifact, commit, facts)
        result = plan.make(level, explicit, message)
        if dry_run or explain:
            return BumpResult(**{**result.__dict__, "dry_run": True})
        try:
            gitrepo.create_tag(root, result.tag, commit, result.message, sign=sign)
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


def _refuse_unsafe_pickle(path: Path) -> None:
    from modelgit.errors import UnsafePickleError
    from modelgit.pickles import PICKLE_SUFFIXES, scan

    if path.suffix.lower() not in PICKLE_SUFFIXES or not path.is_file():
        return
    findings = scan(path)
    if findings:
        names = ", ".join(sorted({f"{f.module}.{f.name}" for f in findings}))
        raise UnsafePickleError(
            f"{path.name} imports globals that execute code on load ({names}); refusing to "
            "register it (pass --allow-unsafe-pickle if you trust it)"
        )


def _refuse_unpushed(root: Path, path: str, md5: str) -> None:
    from modelgit.dvcproject import remote_has

    if not remote_has(root, md5):
        raise PipelineError(f"{path} ({md5}) is not in the DVC remote yet; run `dvc push` first")


@dataclass(frozen=True)
class _Plan:
    """Decides the version and composes the tag message, refusing what must not be tagged."""

    root: Path
    pipe: pipeline.Pipeline
    artifact: pipeline.Artifact
    commit: str
    facts: dict[str, Any]

    def make(self, level: Part | str, explicit: str | None, message: str | None) -> BumpResult:
        """The BumpResult for `level` (or an explicit version) against the registry as it is now."""
        model = self.artifact.name
        state = registry.read(self.root, model)[model]
        latest = state.latest
        previous = latest.version if latest else None
        if explicit:
            self._check_new(state, explicit, previous)
        previous_doc: dict[str, Any] = {}
        if latest is not None:
            previous_doc = read_metadata(self.root, latest)[0] or derive_metadata(self.root, latest)
            if (previous_doc.get("artifact") or {}).get("md5") == self.facts["artifact"]["md5"]:
                raise AlreadyRegisteredError(
                    f"the artifact {self.facts['artifact']['path']} at HEAD is already registered"
                    f" as v{latest.version} ({latest.tag}); change the model before cutting a "
                    "new version"
                )
        part, reasons = self._decide(level, latest)
        new = explicit or next_version(previous, part)
        self._check_new(state, new, previous)
        recorded = "explicit" if explicit else part.value
        document: dict[str, Any] = {
            "schema": metadata.SCHEMA,
            "model": model,
            "version": new,
            "previous": previous,
            "bump": {"level": recorded, "reasons": reasons},
            "created_at": metadata.utc_now(),
            "created_by": gitrepo.identity(self.root),
            "commit": self.commit,
            **self.facts,
        }
        subject = _subject(model, new, recorded, previous_doc, self.facts, message)
        return BumpResult(
            model=model,
            version=new,
            tag=version_tag(model, new),
            previous=previous,
            commit=self.commit,
            message=metadata.dump(subject, document),
            metadata=metadata.to_jsonable(document),
            level=recorded,
            reasons=tuple(reasons),
        )

    @staticmethod
    def _check_new(state: registry.ModelState, new: str, previous: str | None) -> None:
        if not is_greater(new, previous):
            raise VersionOrderError(f"version {new} is not greater than the latest, {previous}")
        tag = version_tag(state.name, new)
        if any(e.tag == tag for e in state.events):
            raise TagExistsError(f"tag {tag!r} already exists; tags are never moved")

    def _decide(self, level: Part | str, latest: registry.Event | None) -> tuple[Part, list[str]]:
        if isinstance(level, Part):
            return level, []
        if latest is None:
            return Part.MINOR, ["first version"]
        from modelgit.autobump import decide
        from modelgit.comparing import breaking_commits, snapshot_pair
        from modelgit.describe import dependency_paths, locate

        comparison = snapshot_pair(self.root, self.artifact.name, latest.commit, self.commit)
        paths = dependency_paths(self.pipe, locate(self.pipe, self.artifact))
        paths += [self.artifact.dvcfile, self.artifact.dvcfile.replace("dvc.yaml", "dvc.lock")]
        breaking = breaking_commits(self.root, latest.commit, self.commit, paths)
        return decide(comparison, breaking)


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
