"""Find what the user named: the repository, the model, a version or stage, and its metadata."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelgit.errors import (
    GitError,
    IncompleteCloneError,
    MetadataError,
    UnknownStageError,
    UnknownVersionError,
)
from modelgit.registry import metadata
from modelgit.registry import state as registry
from modelgit.registry.state import Event, ModelState, choose
from modelgit.registry.tags import Action, model_from_tag, model_to_tag, tag_fields
from modelgit.registry.versions import Version
from modelgit.sources import config, git, pipeline
from modelgit.sources.tree import Tree
from modelgit.values import did_you_mean


def root_of(repo: Path | str) -> Path:
    """The top of the git work tree that holds `repo`."""
    return git.toplevel(Path(repo).resolve())


def declared(root: Path) -> dict[str, pipeline.Artifact]:
    """Artifacts declared at HEAD, or none in a repository without commits."""
    head = git.resolve_commit(root, "HEAD")
    if head is None:
        return {}
    return pipeline.read_artifacts(pipeline.load_dvcfiles(Tree(root, head)))


def model_state(root: Path, model: str | None) -> ModelState:
    """The registry state of the model meant (the only one when `model` is None)."""
    if model is None:
        states = registry.read(root)  # one read serves both the choice and the state
        name = choose(sorted(set(states) | set(declared(root))), None)
        return states.get(name) or registry.build_state(name, [])
    model = model_from_tag(model)
    state = registry.read(root, model)[model]
    if not state.events:
        known = declared(root)
        if model not in known:
            choose(sorted(set(registry.read(root)) | set(known)), model)  # raises, naming them
    return state


def pick(
    state: ModelState, version: str | None, stage: str | None, *, deprecated_ok: bool = False
) -> Event:
    """The registration of `version`, of the version `stage` holds, or of the latest.

    A deprecated (deregistered) version is history: read commands pass `deprecated_ok` and get
    its registration; commands that would deploy it refuse it.
    """
    if stage is not None and "#" in stage:
        version, stage = _assigned_by(state, stage), None
    if stage is not None:
        held = state.stages.get(stage)
        if held is None:
            known = sorted({e.stage for e in state.events if e.stage} | set(config.DEFAULT_STAGES))
            if stage not in known:
                raise UnknownStageError(
                    f"unknown stage {stage!r}; stages: {', '.join(known)}"
                    + did_you_mean(stage, known)
                )
            raise UnknownVersionError(f"no version of {state.name} is in stage {stage!r}")
        version = held
    if version is None:
        if state.latest is None:
            raise UnknownVersionError(f"{state.name} has no versions yet; run `modelgit bump`")
        return state.latest
    event = state.version(version)
    if event is None:
        if version in state.deregistered:
            registered = state.registration(version)
            if deprecated_ok and registered is not None:
                return registered
            raise UnknownVersionError(f"{state.name} v{version} is deprecated")
        raise UnknownVersionError(f"{state.name} has no version {version} ({_versions(state)})")
    return event


def _assigned_by(state: ModelState, stage_tag: str) -> Version:
    """The version a stage-assignment tag copied from `history` (`churn#production#3`, here
    `production#3`) assigned: a tag names what it pointed at, as in git."""
    tag = f"{model_to_tag(state.name)}#{stage_tag}"
    stage = stage_tag.split("#", 1)[0].rstrip("!")
    instead = f"use {state.name}#{stage} (what it holds now) or {state.name}@vX.Y.Z"
    found = next((e for e in state.events if e.tag == tag), None)
    if found is None:
        raise UnknownStageError(f"no stage-assignment tag {tag}; {instead}")
    if found.action is not Action.ASSIGN:
        raise UnknownVersionError(
            f"{tag} is a stage-unassignment tag: it names no version; {instead}"
        )
    if found.version is None:
        raise UnknownVersionError(
            f"{tag} is on a commit no version of {state.name} is registered at"
        )
    return found.version


def _versions(state: ModelState) -> str:
    """`versions: 0.1.0, 0.2.0`, the newest five of a long list, or `no versions yet`."""
    names = [e.version or "" for e in state.versions]
    if not names:
        return "no versions yet"
    if len(names) <= 5:
        return f"versions: {', '.join(names)}"
    return f"latest: {names[-1]}; newest versions: {', '.join(names[-5:])}"


def is_deprecated(state: ModelState, event: Event) -> bool:
    """True when `event` registers a version that was deprecated since."""
    return event.version in state.deregistered


def check_complete_clone(root: Path) -> None:
    """Refuse a shallow clone or one made without tags: its registry is incomplete."""
    if git.is_shallow(root):
        raise IncompleteCloneError(
            "this is a shallow clone, so its version tags may be incomplete; run "
            "`git fetch --tags --unshallow` first"
        )
    if git.fetches_no_tags(root):
        raise IncompleteCloneError(
            "this clone fetches no tags (remote.origin.tagOpt is --no-tags), so its version "
            "tags may be incomplete; run `git fetch --tags --unshallow` (or `git fetch --tags` "
            "if it is not shallow) and `git config --unset remote.origin.tagOpt` first"
        )


def _only_there(
    root: Path, patterns: list[str], remote: str, registry_only: bool = False
) -> tuple[list[str], str]:
    """The tags under `patterns` that `remote` has and this clone lacks (asks ls-remote), and
    the first few of them as a message shows them."""
    theirs = set(git.remote_tags(root, patterns, remote))
    if registry_only:
        theirs = {name for name in theirs if tag_fields(name)}
    ours = {name for name, _ in git.list_tag_names(root, patterns or ["refs/tags"])}
    missing = sorted(theirs - ours)
    return missing, ", ".join(missing[:3]) + (" ..." if len(missing) > 3 else "")


def check_remote_has_nothing_newer(root: Path, model: str, remote: str = "origin") -> None:
    """Refuse when `remote` has version tags of `model` that this clone lacks (asks ls-remote)."""
    missing, shown = _only_there(root, [f"refs/tags/{model_to_tag(model)}@*"], remote)
    if missing:
        raise IncompleteCloneError(
            f"{remote} has version tags of {model} that this clone lacks ({shown}); run "
            "`git fetch --tags --unshallow` (or `git fetch --tags`) first"
        )


def check_remote_has_no_news_of(root: Path, model: str, remote: str = "origin") -> None:
    """Refuse when `remote` has registry tags of `model` this clone lacks (versions, stage
    moves, deprecations), before a tag this clone writes is pushed there: it would take a
    counter already taken, or promote a version retired meanwhile. No such remote: no check."""
    if not git.has_remote(root, remote):
        return
    prefix = f"refs/tags/{model_to_tag(model)}"
    try:
        missing, shown = _only_there(root, [f"{prefix}@*", f"{prefix}#*"], remote)
    except GitError:  # unreachable: the push that follows fails and says so, tag kept
        return
    if missing:
        raise IncompleteCloneError(
            f"{remote} has tags of {model} that this clone lacks ({shown}); run "
            "`git fetch --tags` first, then decide again"
        )


def check_remote_has_no_other_tags(root: Path, remote: str = "origin") -> None:
    """Refuse when `remote` has registry tags this clone lacks (asks ls-remote); a clone with
    no such remote has nobody to ask."""
    if not git.has_remote(root, remote):
        return
    missing, shown = _only_there(root, [], remote, registry_only=True)
    if missing:
        raise IncompleteCloneError(
            f"{remote} has registry tags this clone lacks ({shown}); run `git fetch --tags` "
            "first, so that nothing they keep is freed"
        )


def read_metadata(root: Path, event: Event) -> tuple[dict[str, Any] | None, str | None, bool]:
    """A version tag's metadata, the reason it is unusable (if it is), and whether it is signed."""
    return read_metadata_many(root, [event])[event.tag]


def read_metadata_many(
    root: Path, events: list[Event]
) -> dict[str, tuple[dict[str, Any] | None, str | None, bool]]:
    """`read_metadata` for many tags with a single `cat-file --batch`, by tag name."""
    raws = git.cat_objects(root, [event.object_id for event in events])
    return {event.tag: metadata_of(event, raw) for event, raw in zip(events, raws, strict=True)}


def metadata_of(event: Event, raw: bytes | None) -> tuple[dict[str, Any] | None, str | None, bool]:
    """`read_metadata` of a tag object already read (None: it is missing)."""
    if raw is None:
        return None, "tag object is missing", False
    message, signed = git.tag_message(raw)
    try:
        document = metadata.parse(message)
    except MetadataError as exc:
        return None, str(exc), signed
    if document.get("model") != event.model or document.get("version") != event.version:
        return None, "metadata names another model or version than the tag", signed
    return document, None, signed
