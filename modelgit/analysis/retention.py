"""Retention: which versions a policy keeps (and why) and which it retires. Pure.

A version is kept when any rule keeps it; everything else that is still registered is retired.
Rules: the latest N versions; versions newer than D days; the version each stage holds now
(always); with `keep_stages`, versions a stage held at any time within the last D days; and the
parents of any kept version (so lineage never points at a retired one).

With an archive stage (`retention.archive_stage`), kept versions that left a stage and are held
by no other stage are archived: assigned to that stage, as MLflow archives the versions a
promotion replaces. The archive stage keeps nothing itself (archiving must never block
retirement), and a version is archived once: one that was ever in the archive stage is not
planned again, so a plan is idempotent and an archive someone undid stays undone.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from modelgit.registry.state import Event, ModelState
from modelgit.registry.tags import Action
from modelgit.registry.versions import version_key

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Retention:
    """A retention policy (`.modelgit.yaml` `retention:`, or flags)."""

    keep_last: int = 5
    keep_days: int | None = 90
    keep_stages: bool = True
    archive_stage: str | None = None  # where versions that left their stage go; keeps nothing


@dataclass(frozen=True)
class RetentionPlan:
    """One model's plan: kept versions with their reasons, the versions to retire, and the kept
    versions to assign to the archive stage."""

    model: str
    kept: dict[str, tuple[str, ...]]
    retired: tuple[str, ...]
    # Deregistered (deprecated) before this plan: storage only they use is freed, unless the
    # deregistration is younger than keep_days, which keeps it a while (`recently_retired`),
    # so that a deprecation can be undone with its bytes.
    already_retired: tuple[str, ...] = field(default=())
    archive: tuple[str, ...] = field(default=())
    recently_retired: tuple[str, ...] = field(default=())


def days(count: int | None) -> str:
    """`1 day`, `90 days`."""
    return f"{count} day" if count == 1 else f"{count} days"


def _when(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return _EPOCH
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _stage_spans(state: ModelState, now: datetime) -> list[tuple[str, str, datetime]]:
    """(stage, version, when it stopped holding it: `now` if it still does) for every holding."""
    moves = sorted(
        (e for e in state.events if e.action in (Action.ASSIGN, Action.UNASSIGN) and e.stage),
        key=lambda e: (e.counter is not None, e.counter or 0, e.created_at),
    )
    spans: list[tuple[str, str, datetime]] = []
    holding: dict[str, Event] = {}
    for move in moves:
        assert move.stage is not None
        previous = holding.get(move.stage)
        if move.action is Action.UNASSIGN:
            if previous is not None and previous.version == move.version:
                spans.append((move.stage, previous.version or "", _when(move.created_at)))
                del holding[move.stage]
            continue
        if previous is not None:
            spans.append((move.stage, previous.version or "", _when(move.created_at)))
        holding[move.stage] = move
    spans += [(stage, event.version or "", now) for stage, event in holding.items()]
    return spans


def _rule_reasons(state: ModelState, policy: Retention, now: datetime) -> dict[str, list[str]]:
    """Each registered version of one model -> why the policy's own rules keep it (maybe none)."""
    active = sorted(state.versions, key=lambda e: version_key(e.version or ""))
    reasons: dict[str, list[str]] = {e.version or "": [] for e in active}

    def keep(version: str | None, reason: str) -> None:
        if version in reasons and reason not in reasons[version]:
            reasons[version].append(reason)

    for event in active[-policy.keep_last :] if policy.keep_last > 0 else []:
        keep(event.version, f"one of the latest {policy.keep_last}")
    if active:
        keep(active[-1].version, "the latest version")
    window = now - timedelta(days=policy.keep_days) if policy.keep_days is not None else None
    if window is not None:
        for event in active:
            if _when(event.created_at) >= window:
                keep(event.version, f"newer than {days(policy.keep_days)}")
    for stage, holder in state.stages.items():
        if stage != policy.archive_stage:
            keep(holder, f"held by {stage} now")
    if policy.keep_stages and window is not None and policy.keep_days:  # 0 days: nothing
        for stage, held, until in _stage_spans(state, now):
            # A holding that ended within the window, or "after now": a stage tag is dated
            # max(now, latest + 1 s), so two quick moves date the second in the future. The
            # current holder already has its reason ("now").
            if (
                stage != policy.archive_stage
                and until >= window
                and state.stages.get(stage) != held
            ):
                keep(held, f"held by {stage} within {days(policy.keep_days)}")
    return reasons


def _to_archive(
    state: ModelState, policy: Retention, kept: Collection[str], now: datetime
) -> tuple[str, ...]:
    """Kept versions that left a stage, are held by no other stage now and were never in the
    archive stage, lowest first; none for a deprecated model (a new tag would revive it)."""
    archive = policy.archive_stage
    if archive is None or state.deprecated:
        return ()
    held = {version for stage, version in state.stages.items() if stage != archive}
    left = {version for stage, version, _ in _stage_spans(state, now) if stage != archive}
    archived = {e.version for e in state.events if e.action is Action.ASSIGN and e.stage == archive}
    chosen = (left & set(kept)) - held - archived
    return tuple(sorted(chosen, key=version_key))


def plan(
    states: Iterable[ModelState],
    policy: Retention,
    now: datetime,
    parents: Mapping[str, Iterable[str]] | None = None,
) -> list[RetentionPlan]:
    """What `policy` keeps and retires of each model at `now`.

    `parents` maps a version tag (`model@vX.Y.Z`) to the `model@vX.Y.Z` references its
    metadata records: a parent of a kept version is kept, in whichever model it is.
    """
    states = list(states)
    reasons = {state.name: _rule_reasons(state, policy, now) for state in states}
    pending = [f"{m}@v{v}" for m, kept in reasons.items() for v, why in kept.items() if why]
    while pending:
        child = pending.pop()
        for reference in (parents or {}).get(child, ()):
            name, _, version = str(reference).partition("@v")
            held = reasons.get(name, {})
            if version in held and not held[version]:
                held[version].append(f"parent of {child}")
                pending.append(f"{name}@v{version}")
    window = now - timedelta(days=policy.keep_days) if policy.keep_days is not None else None
    plans = []
    for state in states:
        mine = reasons[state.name]
        retired_at: dict[str, datetime] = {}
        for event in state.events:
            if event.action is Action.DEREGISTER and event.version:
                when = _when(event.created_at)
                retired_at[event.version] = max(when, retired_at.get(event.version, when))
        recent = {
            version
            for version, when in retired_at.items()
            if window is not None and policy.keep_days and when >= window
        }
        kept = {v: tuple(why) for v, why in mine.items() if why}
        plans.append(
            RetentionPlan(
                model=state.name,
                kept=kept,
                retired=tuple(v for v, why in mine.items() if not why),
                already_retired=tuple(sorted(set(retired_at) - recent, key=version_key)),
                archive=_to_archive(state, policy, kept, now),
                recently_retired=tuple(sorted(recent, key=version_key)),
            )
        )
    return plans
