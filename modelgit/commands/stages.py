"""Stage assignments as tags: promote, roll back, deprecate. Every change is a new tag."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from modelgit.commands import policy
from modelgit.errors import (
    ArchiveStageError,
    InvalidNameError,
    MetadataError,
    PromotionError,
    UnknownStageError,
)
from modelgit.registry import record
from modelgit.registry.lookup import check_remote_has_no_news_of, model_state, pick, root_of
from modelgit.registry.metadata import dump_yaml, utc_now
from modelgit.registry.metadata import parse as parse_message
from modelgit.registry.state import Event, ModelState
from modelgit.registry.tags import (
    Action,
    TagName,
    check_version,
    format_tag,
    is_dns_label,
    split_reference,
    version_tag,
)
from modelgit.registry.versions import Version
from modelgit.sources import config, git
from modelgit.values import TextEnum, did_you_mean


class StageAction(TextEnum):
    """What a stage command did (the `action` its tag message records)."""

    PROMOTE = "promote"
    ROLLBACK = "rollback"
    DEPRECATE = "deprecate"
    UNASSIGN = "unassign"
    ARCHIVE = "archive"


@dataclass(frozen=True)
class StageChange:
    """The outcome of promote, rollback or deprecate."""

    model: str
    action: StageAction
    tag: str | None  # None when nothing had to change
    version: Version | None
    stage: str | None
    previous: Version | None  # the version the stage held before
    note: str = ""
    pushed_to: str | None = None  # the remote the new tag was pushed to (with push=True)


def _check_stage(stage: str, settings: config.Config, force: bool) -> None:
    if not is_dns_label(stage):
        raise InvalidNameError(f"stage {stage!r} must be {config.STAGE_RULE}")
    if stage not in settings.stages and not force:
        raise UnknownStageError(
            f"unknown stage {stage!r}; stages: {', '.join(settings.stages)}"
            f"{did_you_mean(stage, settings.stages)}; add it to {config.FILE} or pass --force"
        )


def _referenced(model: str | None) -> tuple[str | None, Version | None, str | None]:
    """`churn`, `churn@v1.2.3`, `churn@1.2.3` or `churn#stage` as (model, version, stage)."""
    if model is None or not ("@" in model or "#" in model):
        return model, None, None
    name, version, stage = split_reference(model)
    return name, Version(version) if version else None, stage


def publish_tag(root: Path, change: StageChange, remote: str = "origin") -> StageChange:
    """Push exactly the tag `change` created (a failure says the tag exists here)."""
    if change.tag is None:
        return change
    return replace(change, pushed_to=record.push_created(root, change.tag, remote))


def _message(subject: str, fields: dict[str, Any]) -> str:
    return f"{subject}\n\n{dump_yaml(fields)}"


def _fields(root: Path, action: StageAction, **extra: Any) -> dict[str, Any]:
    return {
        "schema": 1,
        "action": action,
        **extra,
        "created_at": utc_now(),
        "created_by": git.identity(root),
    }


def _assign(
    root: Path,
    state: ModelState,
    event: Event,
    stage: str,
    message: str,
    fields: dict[str, Any],
    action: Action = Action.ASSIGN,
) -> str:
    """Create the next `<name>#<stage>[!]#<N>` tag; on a race for N, re-read and renumber."""

    def make(current: ModelState) -> record.NewTag:
        name = format_tag(TagName(state.name, action, stage=stage, counter=current.next_counter()))
        return record.NewTag(name, event.commit, _message(message, fields))

    sign = policy.authorize(root, state, event, stage, action)  # refuses what the policy forbids
    return record.write_tag(root, state.name, make, sign=sign).name


def was_in(state: ModelState, version: str, stage: str) -> bool:
    """True when `version` was ever assigned to `stage`."""
    return any(
        e.action is Action.ASSIGN and e.stage == stage and e.version == version
        for e in state.events
    )


def promote(
    repo: Path | str,
    model: str | None,
    version: str | None,
    stage: str,
    message: str | None = None,
    *,
    force: bool = False,
    push: bool = False,
) -> StageChange:
    """Assign `version` to `stage` with a new `<name>#<stage>#<N>` tag.

    `model` may name the version itself (`churn@v1.2.3`, or `churn#staging` for the version
    staging holds), with `version` None. `push` pushes exactly the new tag to origin.
    """
    root = root_of(repo)
    settings = config.load(root)
    _check_stage(stage, settings, force)
    model, named, source = _referenced(model)
    state = model_state(root, model)
    if push:  # before any tag: what origin knows and this clone does not
        check_remote_has_no_news_of(root, state.name)
    if state.deprecated:
        raise PromotionError(f"{state.name} is deprecated; it cannot be promoted")
    if version is None and named is None and source is None:
        raise PromotionError(f"name the version to promote: {state.name}@vX.Y.Z {stage}")
    event = pick(state, check_version(version) if version else named, source)
    version = Version(event.version or "")
    current = state.stages.get(stage)
    if current == version:
        return StageChange(state.name, StageAction.PROMOTE, None, version, stage, current,
                           f"v{version} is already in {stage}; nothing to do")  # fmt: skip
    order = settings.promotion_order
    forced_past = None
    if stage in order and order.index(stage) > 0:
        before = order[order.index(stage) - 1]
        if not was_in(state, version, before):
            if not force:
                raise PromotionError(
                    f"v{version} has not been in {before}; promote it to {before} first "
                    f"(promotion order {' -> '.join(order)}), or pass --force with a reason"
                )
            forced_past = before
    fields = _fields(
        root, StageAction.PROMOTE, model=state.name, version=version, stage=stage, previous=current
    )
    if forced_past:
        fields["forced"] = f"skipped {forced_past}" + (f": {message}" if message else "")
    subject = message or f"Promote {state.name} v{version} to {stage}"
    tag = _assign(root, state, event, stage, subject, fields)
    change = StageChange(state.name, StageAction.PROMOTE, tag, version, stage, current)
    return _pushed(root, change, push)


def _pushed(root: Path, change: StageChange, wanted: bool) -> StageChange:
    return publish_tag(root, change) if wanted else change


def rollback_target(state: ModelState, stage: str, failed: dict[str, str] | None = None) -> Version:
    """The version that held `stage` before the current one (by counter, skipping the current
    and any version a rollout marked failed in that stage)."""
    current = state.stages.get(stage)
    failed = failed or {}
    assignments = sorted(
        (e for e in state.events if e.stage == stage and e.action is Action.ASSIGN),
        key=lambda e: e.counter or 0,
        reverse=True,
    )
    active = {e.version for e in state.versions}
    for event in assignments:
        if event.version != current and event.version in active and event.version not in failed:
            return Version(event.version or "")
    raise PromotionError(
        f"{state.name} has no earlier version in {stage} to roll back to"
        + (f" (it holds v{current})" if current else "")
        + (f"; failed there: {', '.join(f'v{v}' for v in failed)}" if failed else "")
    )


def failed_versions(root: Path, state: ModelState, stage: str) -> dict[str, str]:
    """Versions a rollout marked failed in `stage` (a rollback or unassignment tag's `failed`),
    with the reason, unless a later assignment gave the version the stage again."""
    moves = sorted(
        (e for e in state.events if e.stage == stage and e.action in (Action.ASSIGN,
         Action.UNASSIGN)),
        key=lambda e: e.counter or 0,
    )  # fmt: skip
    documents = read_stage_documents(root, moves)
    failed: dict[str, str] = {}
    for event in moves:
        if event.action is Action.ASSIGN:
            failed.pop(str(event.version), None)  # given the stage again: no longer failed
        marked = (documents.get(event.tag) or {}).get("failed")
        if isinstance(marked, dict) and marked.get("version"):
            failed[str(marked["version"])] = str(marked.get("reason") or "")
    return failed


def read_stage_documents(root: Path, events: list[Event]) -> dict[str, dict[str, Any]]:
    """The YAML of stage tags' messages, by tag (GTO's tags, with none, are left out)."""
    raws = git.cat_objects(root, [event.object_id for event in events])
    found = {}
    for event, raw in zip(events, raws, strict=True):
        if raw is None:
            continue
        try:
            document = parse_message(git.tag_message(raw)[0], required=("schema", "model"))
        except MetadataError:
            continue
        found[event.tag] = document
    return found


def rollback(
    repo: Path | str,
    model: str | None,
    stage: str = "production",
    to: str | None = None,
    message: str | None = None,
    *,
    push: bool = False,
    force: bool = False,
    failed: str | None = None,
) -> StageChange:
    """Assign the version that held `stage` before (or `to`) with a new tag; nothing is deleted.

    `model` may carry the stage (`churn#production`) or the target (`churn@v1.2.0`).
    Without `to`, a version marked failed in the stage is never chosen. `to` must have passed
    the stage before in the promotion order, and must not be marked failed, unless `force`.
    `failed` marks the version being rolled back from as failed, `message` saying why.
    """
    root = root_of(repo)
    model, named, referenced_stage = _referenced(model)
    stage = referenced_stage or stage
    to = to or named
    state = model_state(root, model)
    if push:  # before any tag: what origin knows and this clone does not
        check_remote_has_no_news_of(root, state.name)
    known = sorted({e.stage for e in state.events if e.stage} | set(config.load(root).stages))
    if stage not in known:
        raise UnknownStageError(
            f"unknown stage {stage!r}; stages: {', '.join(known)}" + did_you_mean(stage, known)
        )
    current = state.stages.get(stage)
    marked = failed_versions(root, state, stage)
    target = check_version(to) if to else rollback_target(state, stage, marked)
    if target == current:
        raise PromotionError(f"v{target} is already in {stage}")
    event = pick(state, target, None)
    if to and not force:
        _check_rollback_to(root, state, target, stage, marked)
    fields = _fields(
        root, StageAction.ROLLBACK, model=state.name, version=target, stage=stage, previous=current
    )
    if message:
        fields["reason"] = message
    if failed:
        fields["failed"] = {"version": check_version(failed), "reason": message or "unhealthy"}
    if to and force:
        fields["forced"] = True
    subject = f"Roll back {state.name} in {stage} to v{target}" + (
        f": {message}" if message else ""
    )
    tag = _assign(root, state, event, stage, subject, fields)
    change = StageChange(state.name, StageAction.ROLLBACK, tag, target, stage, current)
    return _pushed(root, change, push)


def deprecate(
    repo: Path | str,
    model: str | None,
    version: str | None = None,
    message: str | None = None,
    *,
    force: bool = False,
    push: bool = False,
    archive_stage: str | None = None,
) -> StageChange:
    """Deprecate one version (`<name>@vX.Y.Z!`) or the whole model (`<name>@deprecated`).

    Either is refused while a stage holds what it retires, unless `force`: then the stage
    falls back to the version assigned to it before, as GTO reads it. The archive stage
    (`archive_stage`, by default `retention.archive_stage`) is no use: it never blocks.

    `model` may name the version (`churn@v1.2.3`).
    """
    root = root_of(repo)
    model, named, _ = _referenced(model)
    version = version or named
    state = model_state(root, model)
    if push:  # before any tag: what origin knows and this clone does not
        check_remote_has_no_news_of(root, state.name)
    if version is None:
        if state.deprecated:
            return StageChange(state.name, StageAction.DEPRECATE, None, None, None, None,
                               f"{state.name} is already deprecated")  # fmt: skip
        held = {s: v for s, v in state.stages.items() if v is not None}
        if held and not force:
            holders = ", ".join(f"{s} holds v{v}" for s, v in held.items())
            raise PromotionError(
                f"{state.name} is still deployed ({holders}); unassign or roll back those "
                "stages first (or pass --force)"
            )
        head = git.head_commit(root)
        fields = _fields(root, StageAction.DEPRECATE, model=state.name)
        text = _message(message or f"Deprecate {state.name}", fields)
        tag = format_tag(TagName(state.name, Action.DEPRECATE))
        record.write_tag(root, state.name, lambda _: record.NewTag(tag, head, text), retry=False)
        change = StageChange(state.name, StageAction.DEPRECATE, tag, None, None, None)
        return _pushed(root, change, push)
    version = check_version(version)
    event = pick(state, version, None)
    holding = [s for s, v in state.stages.items() if v == version]
    archive_stage = archive_stage or _configured_archive_stage(root)
    if archive_stage is not None and holding == [archive_stage]:
        check_archive_stage(root, archive_stage, [state])  # a working stage never lets go
        holding = []
    if holding and not force:
        raise PromotionError(
            f"v{version} is in {', '.join(holding)}; promote or roll back another version "
            "first (or pass --force)"
        )
    tag = version_tag(state.name, version) + "!"
    fields = _fields(root, StageAction.DEPRECATE, model=state.name, version=version)
    text = _message(message or f"Deprecate {state.name} v{version}", fields)
    record.write_tag(
        root, state.name, lambda _: record.NewTag(tag, event.commit, text), retry=False
    )
    change = StageChange(state.name, StageAction.DEPRECATE, tag, version, None, None)
    return _pushed(root, change, push)


def _configured_archive_stage(root: Path) -> str | None:
    stage = config.load(root).section("retention").get("archive_stage")
    return str(stage) if stage else None


def unassign(
    repo: Path | str,
    model: str | None,
    stage: str | None = None,
    message: str | None = None,
    *,
    push: bool = False,
    failed: str | None = None,
) -> StageChange:
    """Take the version `stage` holds out of it with GTO's unassignment `<name>#<stage>!#<N>`.

    `model` may name the stage itself (`churn#production`). As in GTO, the stage then holds
    the version assigned to it before, if that one is still assigned and registered;
    `StageChange.note` says which. `push` pushes just the new tag. `failed` marks the version
    taken out as failed there (a rollout's verdict), `message` saying why.
    """
    model, version, named = _referenced(model)
    if version is not None:
        raise InvalidNameError(f"unassign takes MODEL#STAGE, not a version (got v{version})")
    if named and stage and named != stage:
        raise InvalidNameError(f"{model}#{named} and stage {stage!r} name different stages")
    stage = named or stage
    if not stage:
        raise InvalidNameError("unassign needs a stage: MODEL#STAGE, e.g. churn#production")
    root = root_of(repo)
    state = model_state(root, model)
    if push:  # before any tag: what origin knows and this clone does not
        check_remote_has_no_news_of(root, state.name)
    current = state.stages.get(stage)
    if current is None:
        return StageChange(
            state.name, StageAction.UNASSIGN, None, None, stage, None, f"{stage} holds nothing"
        )
    event = pick(state, current, None)
    fields = _fields(root, StageAction.UNASSIGN, model=state.name, stage=stage, previous=current)
    if message:
        fields["reason"] = message
    if failed:
        fields["failed"] = {"version": check_version(failed), "reason": message or "unhealthy"}
    subject = f"Unassign {stage} of {state.name}"
    tag = _assign(root, state, event, stage, subject, fields, Action.UNASSIGN)
    now = model_state(root, state.name).stages.get(stage)
    note = f"{stage} now holds v{now}" if now else f"{stage} now holds nothing"
    change = StageChange(state.name, StageAction.UNASSIGN, tag, now, stage, current, note)
    return _pushed(root, change, push)


def _check_rollback_to(
    root: Path, state: ModelState, target: Version, stage: str, failed: dict[str, str]
) -> None:
    """`rollback --to` goes only to a version that may hold the stage: one that passed the
    stage before it in the promotion order, and that no rollout marked failed there."""
    if target in failed:
        raise PromotionError(
            f"v{target} failed in {stage} ({failed[target] or 'no reason recorded'}); pass "
            "--force to restore it anyway"
        )
    order = config.load(root).promotion_order
    if stage in order and order.index(stage) > 0:
        before = order[order.index(stage) - 1]
        if not was_in(state, target, before):
            raise PromotionError(
                f"v{target} has not been in {before}; the promotion order is "
                f"{' -> '.join(order)} (pass --force with a reason to roll back to it anyway)"
            )


def archive(
    repo: Path | str,
    model: str,
    version: str,
    stage: str,
    message: str | None = None,
    *,
    replaced_by: str | None = None,
) -> StageChange:
    """Assign `version` to the archive `stage` (`retention.archive_stage`) with the same
    `<name>#<stage>#<N>` tag promote writes; the stage needs no `stages:` entry and no promotion
    order. `rollout` and `gc` call it for the versions a stage no longer holds."""
    if not is_dns_label(stage):
        raise InvalidNameError(f"archive stage {stage!r} must be lowercase letters, digits and '-'")
    root = root_of(repo)
    state = model_state(root, model)
    event = pick(state, check_version(version), None)
    version = Version(event.version or "")
    current = state.stages.get(stage)
    fields = _fields(
        root, StageAction.ARCHIVE, model=state.name, version=version, stage=stage, previous=current
    )
    if replaced_by is not None:
        fields["replaced_by"] = check_version(replaced_by)
    subject = message or f"Archive {state.name} v{version} in {stage}"
    tag = _assign(root, state, event, stage, subject, fields)
    return StageChange(state.name, StageAction.ARCHIVE, tag, version, stage, current)


def check_archive_stage(root: Path, stage: str, states: Iterable[ModelState]) -> None:
    """Refuse a working stage as the archive stage: one in `promotion_order`, one a stage
    policy takes versions `from`, `staging` or `production` while `.modelgit.yaml` lists no
    `stages:` (promote's defaults), or one that any version was ever assigned to by anything
    but archiving (a promotion, rollout, rollback or GTO's `assign`)."""
    settings = config.load(root)
    feeds = sorted(
        str(other)
        for other, rules in settings.policy.items()
        if isinstance(rules, dict) and rules.get("from") == stage
    )
    why = None
    if stage in settings.promotion_order:
        why = f"it is in promotion_order ({' -> '.join(settings.promotion_order)})"
    elif feeds:
        why = f"policy.{feeds[0]}.from takes versions from it"
    elif "stages" not in settings.document and stage in config.DEFAULT_STAGES:
        why = "promote uses it (a default stage)"
    else:
        assigned = [
            e for s in states for e in s.events if e.action is Action.ASSIGN and e.stage == stage
        ]
        documents = read_stage_documents(root, assigned)
        working = [e for e in assigned if documents.get(e.tag, {}).get("action") != "archive"]
        if working:
            first = min(working, key=lambda e: (e.model, e.counter or 0))
            action = documents.get(first.tag, {}).get("action") or "GTO's assign"
            why = f"{first.tag} assigned v{first.version} to it by {action}"
    if why:
        raise ArchiveStageError(
            f"archive stage {stage!r} is a working stage: {why}; archive to a stage used for "
            "nothing else, e.g. archived"
        )
