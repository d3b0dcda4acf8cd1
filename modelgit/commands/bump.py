"""`bump`: register the model at HEAD as a new version, an annotated tag carrying its metadata."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from modelgit.errors import (
    AlreadyRegisteredError,
    GitError,
    InputError,
    PipelineError,
    PushRejectedError,
    TagExistsError,
    UnsafePickleError,
    VersionOrderError,
)
from modelgit.model import facts
from modelgit.model.metrics import directions_of, key_metric
from modelgit.registry import metadata, record
from modelgit.registry import state as registry
from modelgit.registry.lookup import (
    check_complete_clone,
    check_remote_has_nothing_newer,
    choose,
    read_metadata_many,
    root_of,
)
from modelgit.registry.tags import check_new_model_name, check_version, version_tag
from modelgit.registry.versions import Level, Part, Version, is_greater, next_version
from modelgit.sources import git, pipeline
from modelgit.sources.tree import Tree
from modelgit.values import format_value


@dataclass(frozen=True)
class BumpRequest:
    """What to register: the level (or an explicit version) and how to write the tag."""

    level: Level = Level.MINOR
    model: str | None = None  # optional when one model is declared
    version: str | None = None  # an explicit version, greater than the latest
    message: str | None = None  # the tag's subject line
    dry_run: bool = False  # plan and compose the message; create nothing
    explain: bool = False  # like dry_run: decide the level and say why
    push: bool = False  # push exactly the new tag to origin
    sign: bool = False  # sign the tag (git's GPG or SSH signing)
    require_pushed: bool = False  # refuse an artifact the DVC remote lacks
    allow_unsafe_pickle: bool = False  # register a pickle whose globals execute code

    def __post_init__(self) -> None:
        # "minor", "MINOR", Part.MINOR and Level.MINOR all name one level; keep the enum.
        object.__setattr__(self, "level", Level.parse(self.level))


@dataclass(frozen=True)
class BumpResult:
    """A version that `bump` created, or with `dry_run` would create."""

    model: str
    version: Version
    tag: str
    previous: Version | None
    commit: str
    message: str
    metadata: dict[str, Any] = field(default_factory=dict)
    dry_run: bool = False
    pushed_to: str | None = None
    level: str = ""
    reasons: tuple[str, ...] = ()


def bump(
    repo: Path | str = ".",
    level: BumpRequest | Level | Part | str = Level.MINOR,
    model: str | None = None,
) -> BumpResult:
    """Register the model at HEAD as a new version: an annotated tag carrying its metadata.

    `level` is major, minor, patch or auto (decided from what changed since the latest
    version; the reasons go into `bump.reasons`), or a BumpRequest for every other choice.
    """
    from modelgit.model.workspace import check_clean

    if isinstance(level, BumpRequest):
        if model is not None and model != level.model:
            raise InputError("name the model in the BumpRequest or as `model`, not both")
        request = level
    else:
        request = BumpRequest(Level.parse(level), model)
    root = root_of(repo)
    commit = git.head_commit(root)
    pipe = pipeline.load(Tree(root, commit))
    artifacts = pipeline.read_artifacts(pipe.dvcfiles)
    artifact = artifacts[choose(sorted(artifacts), request.model)]
    check_new_model_name(artifact.name)
    check_complete_clone(root)
    if request.push and not (request.dry_run or request.explain):
        check_remote_has_nothing_newer(root, artifact.name)
    explicit = check_version(str(request.version)) if request.version else None
    check_clean(root, pipe, artifact)
    fields = facts.metadata_fields(root, pipe, artifact, workspace=True)
    if not request.allow_unsafe_pickle:
        _refuse_unsafe_pickle(root, artifact.path, str(fields["artifact"]["md5"]))
    if request.require_pushed:
        _refuse_unpushed(root, artifact.path, str(fields["artifact"]["md5"]))
    plan = _Plan(root, pipe, artifact, commit, fields, request, explicit)
    if request.dry_run or request.explain:
        return replace(plan.make(registry.read(root, artifact.name)[artifact.name]), dry_run=True)
    planned: list[BumpResult] = []

    def make(state: registry.ModelState) -> record.NewTag:
        planned.append(plan.make(state))
        return record.NewTag(planned[-1].tag, commit, planned[-1].message)

    # An explicit version names its tag: losing a race for it is an error, not a retry.
    record.write_tag(root, artifact.name, make, sign=request.sign, retry=explicit is None)
    result = planned[-1]
    if request.push:
        _push_or_take_back(root, result.tag)
        return replace(result, pushed_to="origin")
    return result


def _push_or_take_back(root: Path, tag: str) -> None:
    """Push the new tag; if the remote refuses it, remove the local tag we just created."""
    created = git.tag_object_id(root, tag)
    try:
        git.push_tag(root, tag)
    except GitError as exc:
        git.delete_local_tag(root, tag, created)
        reason = next((line for line in exc.stderr.splitlines() if line.strip()), str(exc))
        raise PushRejectedError(
            f"pushing {tag} to origin failed ({reason.strip()}); the local tag was removed, "
            "so nothing was registered"
        ) from exc


def _md5(document: dict[str, Any]) -> object:
    return (document.get("artifact") or {}).get("md5")


def _refuse_unsafe_pickle(root: Path, relative: str, md5: str) -> None:
    from modelgit.model.pickles import AllowList, is_pickle_file, scan_artifact
    from modelgit.sources import config

    path = root / relative
    if not (path.is_dir() or is_pickle_file(path)):
        return
    allow = AllowList.of(config.load(root).scan_allow)
    findings = scan_artifact(root, path, md5, allow)  # cached by md5: a re-bump scans nothing
    if findings:
        reasons = ", ".join(dict.fromkeys(f.text for f in findings))
        raise UnsafePickleError(
            f"{relative}: {reasons}; refusing to register it (add globals you trust to "
            "scan.allow in .modelgit.yaml, or pass --allow-unsafe-pickle)"
        )


def _refuse_unpushed(root: Path, path: str, md5: str) -> None:
    from modelgit.sources.dvc import remote_has

    if not remote_has(root, md5):
        raise PipelineError(f"{path} ({md5}) is not in the DVC remote yet; run `dvc push` first")


@dataclass(frozen=True)
class _Plan:
    """Decides the version and composes the tag message, refusing what must not be tagged."""

    root: Path
    pipe: pipeline.Pipeline
    artifact: pipeline.Artifact
    commit: str
    fields: dict[str, Any]
    request: BumpRequest
    explicit: Version | None

    def make(self, state: registry.ModelState) -> BumpResult:
        """The BumpResult for the request against the registry state given."""
        model = self.artifact.name
        latest = state.latest
        previous = latest.version if latest else None
        # Tags are never reused and versions never go backwards: the next version follows the
        # highest ever tagged, deprecated and deregistered ones included.
        highest = state.highest_ever()
        if self.explicit:
            self._check_new(state, self.explicit, highest)
        documents = self._registered_documents(state)
        previous_doc = documents.get(latest.tag, {}) if latest is not None else {}
        md5 = self.fields["artifact"]["md5"]
        # Every registration counts, deregistered ones included: a deprecated version's
        # bytes registered again under a new number would bring it back unnoticed.
        same = [e for e in reversed(state.registrations()) if _md5(documents[e.tag]) == md5]
        if same:
            deprecated = " (deprecated)" if same[0].version in state.deregistered else ""
            raise AlreadyRegisteredError(
                f"the artifact {self.fields['artifact']['path']} at HEAD is already "
                f"registered as v{same[0].version}{deprecated} ({same[0].tag}); change the "
                "model before cutting a new version"
            )
        part, reasons = self._decide(latest)
        new = self.explicit or Version(next_version(highest, part))
        self._check_new(state, new, highest)
        recorded = "explicit" if self.explicit else part.value
        document: dict[str, Any] = {
            "schema": metadata.SCHEMA,
            "model": model,
            "version": new,
            "previous": previous,
            "bump": {"level": recorded, "reasons": reasons},
            "created_at": metadata.utc_now(),
            "created_by": git.identity(self.root),
            "commit": self.commit,
            **self.fields,
        }
        subject = self._subject(new, recorded, previous_doc)
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

    def _registered_documents(self, state: registry.ModelState) -> dict[str, dict[str, Any]]:
        """Every registration's metadata, deregistered ones included (derived from its commit
        where the tag has none)."""
        events = state.registrations()
        read = read_metadata_many(self.root, events)
        return {
            event.tag: read[event.tag][0] or facts.derive_metadata(self.root, event)
            for event in events
        }

    @staticmethod
    def _check_new(state: registry.ModelState, new: str, highest: str | None) -> None:
        if not is_greater(new, highest):
            latest = state.latest.version if state.latest else None
            which = "the latest" if highest == latest else "the highest ever tagged (deprecated)"
            raise VersionOrderError(f"version {new} is not greater than {which}, {highest}")
        tag = version_tag(state.name, new)
        if any(e.tag == tag for e in state.events):
            raise TagExistsError(f"tag {tag!r} already exists; tags are never moved")

    def _decide(self, latest: registry.Event | None) -> tuple[Part, list[str]]:
        if self.request.level is not Level.AUTO:
            return Part(self.request.level.value), []
        if latest is None:
            return Part.MINOR, ["first version"]
        from modelgit.analysis.autobump import decide, is_breaking
        from modelgit.commands.compare import compare_commits

        comparison = compare_commits(self.root, self.artifact.name, latest.commit, self.commit)
        paths = facts.dependency_paths(self.pipe, facts.locate(self.pipe, self.artifact))
        paths += [self.artifact.dvcfile, self.artifact.dvcfile.replace("dvc.yaml", "dvc.lock")]
        breaking = [
            f"{sha[:12]} ({subject})"
            for sha, subject, body in git.commit_messages(
                self.root, latest.commit, self.commit, paths
            )
            if is_breaking(subject, body)
        ]
        return decide(comparison, breaking)

    def _subject(self, version: str, level: str, previous: dict[str, Any]) -> str:
        """`churn v1.3.0: minor bump, accuracy 0.931 -> 0.945` (or the user's own message)."""
        head = f"{self.artifact.name} v{version}"
        if self.request.message:
            return f"{head}: {self.request.message.strip().splitlines()[0]}"
        metrics = self.fields.get("metrics") or {}
        preferred = self.artifact.meta.get("key_metric")
        key = key_metric(metrics, directions_of(self.artifact), preferred)
        if key is None:
            return f"{head}: {level} bump"
        old = (previous.get("metrics") or {}).get(key)
        new = format_value(metrics[key])
        change = f"{format_value(old)} -> {new}" if old is not None else new
        return f"{head}: {level} bump, {key} {change}"
