"""`gc`: retire old versions by policy (GTO's deregistration tags, never a deletion) and, with
`--apply`, free the storage only they used; with an archive stage, assign the kept versions
that left their stage to it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from modelgit.analysis.retention import Retention, RetentionPlan, plan
from modelgit.errors import ConfigError, GitError, InputError, RemoteError
from modelgit.registry import state as registry
from modelgit.registry.lookup import (
    check_complete_clone,
    check_remote_has_no_other_tags,
    read_metadata_many,
    root_of,
)
from modelgit.registry.published import PUBLISHED_ROOT
from modelgit.registry.tags import Action, is_dns_label, model_from_tag, model_to_tag, tag_fields
from modelgit.sources import config, git


@dataclass(frozen=True)
class GcResult:
    """The retention plan per model and, when applied, what was retired and freed."""

    policy: Retention
    plans: tuple[RetentionPlan, ...]
    applied: bool = False
    retired_tags: tuple[str, ...] = ()
    archived_tags: tuple[str, ...] = ()
    removed_cache_objects: int = 0
    removed_remote_objects: int = 0
    removed_published: tuple[str, ...] = ()
    # With `cloud`: the tags this run wrote, pushed to origin before its storage was freed.
    pushed_tags: tuple[str, ...] = ()


def policy_of(root: Path, **overrides: Any) -> Retention:
    """The retention policy: built-in defaults, then `.modelgit.yaml` `retention:`, then flags."""
    settings: dict[str, Any] = dict(config.load(root).section("retention"))
    unknown = set(settings) - {"keep_last", "keep_days", "keep_stages", "archive_stage"}
    if unknown:
        raise ConfigError(
            f"{config.FILE}: retention has unknown keys: {', '.join(sorted(unknown))}"
        )
    policy = Retention(**settings)
    chosen = {key: value for key, value in overrides.items() if value is not None}
    policy = replace(policy, **chosen)
    if policy.archive_stage is not None and not is_dns_label(str(policy.archive_stage)):
        raise ConfigError(
            f"archive stage {policy.archive_stage!r} must be a stage name: lowercase letters, "
            "digits and '-'"
        )
    if policy.keep_last < 1:
        raise ConfigError("keep_last must be at least 1: the latest version is always kept")
    if policy.keep_days is not None and policy.keep_days < 0:
        raise ConfigError("keep_days cannot be negative")
    return policy


def gc(
    repo: Path | str = ".",
    model: str | None = None,
    *,
    keep_last: int | None = None,
    keep_days: int | None = None,
    keep_stages: bool | None = None,
    archive_stage: str | None = None,
    apply: bool = False,
    cloud: bool = False,
    remote: str | None = None,
    now: datetime | None = None,
) -> GcResult:
    """Plan retention (default) or apply it: deregistration tags, archive-stage tags (with an
    archive stage), then `dvc gc` of what only retired versions used, and (with `cloud`) their
    remote objects and published copies."""
    if cloud and not apply:
        raise InputError("cloud frees storage, which only apply does: pass apply=True as well")
    root = root_of(repo)
    check_complete_clone(root)  # a plan over a clone that cannot see every tag is wrong
    policy = policy_of(
        root,
        keep_last=keep_last,
        keep_days=keep_days,
        keep_stages=keep_stages,
        archive_stage=archive_stage,
    )
    states = registry.read(root)
    if policy.archive_stage is not None:
        from modelgit.commands.stages import check_archive_stage

        check_archive_stage(root, policy.archive_stage, states.values())  # before any plan
    if model is not None:
        name = model_from_tag(model)
        if name not in states:
            registry.choose(sorted(states), name)  # raises, naming the known models
    events = [event for state in states.values() for event in state.versions]
    documents = read_metadata_many(root, events)
    parents = {
        event.tag: [str(p) for p in (documents[event.tag][0] or {}).get("parents") or []]
        for event in events
    }
    plans = plan(states.values(), policy, now or datetime.now(timezone.utc), parents)
    if model is not None:
        plans = [p for p in plans if p.model == model_from_tag(model)]
    if not apply:
        return GcResult(policy, tuple(plans))
    from modelgit.commands.stages import archive, deprecate
    from modelgit.sources import dvc

    if cloud:
        dvc.check_remote(root, remote)  # before any tag is written
        # Deregistrations made earlier in this clone alone were planned without origin's
        # view: pushing them now could retire what a teammate has promoted since.
        check_no_unpublished_retirements(root)
    # What origin registered or moved since this clone fetched must be in the plan (a version
    # a teammate promoted meanwhile is not retired). An unreachable origin cannot be asked:
    # the shared remote is then left alone, a local retirement goes ahead.
    try:
        check_remote_has_no_other_tags(root)
    except GitError:
        if cloud:
            raise

    # Archive first: should a stage policy refuse an archive tag, nothing is retired yet.
    archived: list[str] = []
    for item in plans:
        for version in item.archive:
            why = f"archived by `modelgit gc`: v{version} left its stage"
            change = archive(root, item.model, version, str(policy.archive_stage), why)
            archived.append(change.tag or "")
    retired = []
    for item in plans:
        for version in item.retired:
            why = "retired by `modelgit gc`: outside the retention policy"
            change = deprecate(root, item.model, version, why, archive_stage=policy.archive_stage)
            retired.append(change.tag or "")
    kept_commits = sorted(
        {
            event.commit
            for item in plans
            for event in states[item.model].versions
            if event.version in item.kept
        }
        | {
            event.commit
            for item in plans
            for version in item.recently_retired
            if (event := states[item.model].registration(version)) is not None
        }
        | {
            event.commit
            for name, state in states.items()
            if name not in {p.model for p in plans}
            for event in state.versions
        }
    )
    # The DVC remote is shared: its bytes go only once everyone can see why (the
    # deregistration tags on origin), as teammates' clones and `list --remote` read them.
    pushed = push_retirements(root, [*archived, *retired]) if cloud else ()
    removed_local, removed_remote = dvc.collect_garbage(
        root, kept_commits, cloud=cloud, remote=remote
    )
    published: list[str] = []
    if cloud:
        folders = [
            f"{PUBLISHED_ROOT}/{model_to_tag(item.model)}/v{version}"
            for item in plans
            for version in (*item.retired, *item.already_retired)
        ]
        published = dvc.remove_remote_folders(root, folders, remote)
    return GcResult(
        policy,
        tuple(plans),
        applied=True,
        retired_tags=tuple(retired),
        archived_tags=tuple(archived),
        removed_cache_objects=removed_local,
        removed_remote_objects=removed_remote,
        removed_published=tuple(published),
        pushed_tags=pushed,
    )


def _unpublished_retirements(root: Path, remote: str = "origin") -> list[str]:
    """Deregistration tags this clone has and `remote` lacks (none without such a remote)."""
    if not git.has_remote(root, remote):
        return []
    theirs = set(git.remote_tags(root, [], remote))
    ours = [name for name, _ in git.list_tag_names(root, ["refs/tags"])]
    return sorted(name for name in ours if _retires(name) and name not in theirs)


def check_no_unpublished_retirements(root: Path, remote: str = "origin") -> None:
    """Refuse `--cloud` while this clone holds deregistrations `remote` lacks that this run did
    not write: they were planned without `remote`'s view, so publishing them is the user's
    decision, not a side effect of freeing storage."""
    unpublished = _unpublished_retirements(root, remote)
    if unpublished:
        shown = " ".join(unpublished)
        raise RemoteError(
            f"this clone has deregistrations {remote} lacks ({', '.join(unpublished)}); check "
            f"them against {remote}'s stages (`git fetch --tags`, `modelgit list`), publish "
            f"them with `git push {remote} {shown}`, then run `modelgit gc --apply --cloud` again"
        )


def push_retirements(
    root: Path, written: list[str] | tuple[str, ...] = (), remote: str = "origin"
) -> tuple[str, ...]:
    """Push the tags this run wrote (deregistrations, and archive tags: another clone's next
    stage tag takes the next counter); none without such a remote. A refused push stops `gc`
    before any shared storage is freed."""
    tags = tuple(sorted(name for name in written if name))  # just made: origin has none
    if not tags or not git.has_remote(root, remote):
        return ()
    try:
        git.push_tags(root, tags, remote)
    except GitError as exc:
        raise RemoteError(
            f"cannot push the deregistration tags to {remote} ({exc.reason}); "
            "nothing was freed, and the tags stay in this clone: the DVC remote is shared, "
            f"so its bytes go only once {remote} shows they are retired"
        ) from exc
    return tags


def _retires(tag: str) -> bool:
    fields = tag_fields(tag)
    return fields is not None and fields[1] is Action.DEREGISTER
