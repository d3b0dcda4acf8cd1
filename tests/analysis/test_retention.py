"""Retention plans: what a policy keeps and why, and the properties no history may break."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from modelgit.analysis.retention import Retention, plan
from modelgit.registry.state import Event, build_state
from modelgit.registry.tags import Action
from modelgit.registry.versions import Version

NOW = datetime(2026, 11, 27, tzinfo=timezone.utc)


def stamp(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).isoformat()


def register(model: str, minor: int, days_ago: float) -> Event:
    version = Version(f"0.{minor}.0")
    return Event(
        model, Action.REGISTER, f"{model}@v{version}", f"c{minor}", f"o{minor}",
        stamp(days_ago), "a", version,
    )  # fmt: skip


def move(model: str, stage: str, minor: int, counter: int, days_ago: float, *, off=False):
    action = Action.UNASSIGN if off else Action.ASSIGN
    tag = f"{model}#{stage}{'!' if off else ''}#{counter}"
    return Event(
        model, action, tag, f"c{minor}", f"s{counter}", stamp(days_ago), "a",
        Version(f"0.{minor}.0"), stage, counter,
    )  # fmt: skip


def deregister(model: str, version: str) -> Event:
    return Event(model, Action.DEREGISTER, f"{model}@v{version}!", "c", "d", stamp(0), "a",
                 Version(version))  # fmt: skip


def test_a_sample_history_and_its_reasons():
    events = [register("churn", minor, days_ago=200 - minor * 10) for minor in range(1, 11)]
    events += [
        move("churn", "production", 2, 1, days_ago=170),
        move("churn", "production", 4, 2, days_ago=120),  # v0.2.0 held production until then
        move("churn", "production", 6, 3, days_ago=60),  # v0.4.0 held it within 90 days
        move("churn", "staging", 9, 4, days_ago=15),
    ]
    state = build_state("churn", events)
    parents = {"churn@v0.8.0": ["churn@v0.3.0"]}
    (result,) = plan([state], Retention(keep_last=3, keep_days=90), NOW, parents)
    assert result.kept == {
        "0.3.0": ("parent of churn@v0.8.0",),
        "0.4.0": ("held by production within 90 days",),
        "0.6.0": ("held by production now",),
        "0.8.0": ("one of the latest 3",),
        "0.9.0": ("one of the latest 3", "held by staging now"),
        "0.10.0": ("one of the latest 3", "the latest version"),  # 100 days old
    }
    assert result.retired == ("0.1.0", "0.2.0", "0.5.0", "0.7.0")


@st.composite
def histories(draw):
    count = draw(st.integers(1, 10))
    ages = sorted(draw(st.lists(st.floats(0, 400), min_size=count, max_size=count)), reverse=True)
    events = [
        register("m", minor, age) for minor, age in zip(range(1, count + 1), ages, strict=False)
    ]
    for counter in range(1, draw(st.integers(0, 12)) + 1):
        events.append(
            move(
                "m",
                draw(st.sampled_from(["staging", "production", "archived"])),
                draw(st.integers(1, count)),
                counter,
                draw(st.floats(0, 400)),
                off=draw(st.booleans()),
            )
        )
    for minor in draw(st.lists(st.integers(1, count), max_size=3)):
        events.append(deregister("m", f"0.{minor}.0"))
    parents = {
        f"m@v0.{child}.0": [f"m@v0.{draw(st.integers(1, child))}.0"]
        for child in draw(st.lists(st.integers(1, count), max_size=4))
    }
    return events, parents


policies = st.builds(
    Retention,
    keep_last=st.integers(0, 6),
    keep_days=st.one_of(st.none(), st.integers(0, 365)),
    keep_stages=st.booleans(),
    archive_stage=st.sampled_from([None, "archived"]),
)


@settings(max_examples=150, deadline=None)
@given(histories(), policies)
def test_never_retires_a_stage_holder_or_the_latest_and_is_idempotent(history, policy):
    events, parents = history
    state = build_state("m", events)
    (result,) = plan([state], policy, NOW, parents)
    held = {v for s, v in state.stages.items() if v is not None and s != policy.archive_stage}
    assert not held & set(result.retired)
    if state.latest is not None:
        assert state.latest.version not in result.retired
    assert set(result.kept) | set(result.retired) == {e.version for e in state.versions}
    for child, refs in parents.items():
        if child.partition("@v")[2] in result.kept:
            for ref in refs:
                assert ref.partition("@v")[2] not in result.retired
    # Only kept versions that left a stage, and that no other stage holds, are archived.
    assert set(result.archive) <= set(result.kept) - held
    left = {e.version for e in events if e.action is Action.ASSIGN and e.stage != "archived"}
    assert set(result.archive) <= left
    if policy.archive_stage is None:
        assert result.archive == ()
    else:
        # The archive stage keeps nothing: without its tags the plan retires the same versions.
        others = [e for e in events if e.stage != policy.archive_stage]
        (bare,) = plan([build_state("m", others)], policy, NOW, parents)
        assert bare.retired == result.retired
    # Applying the plan (a deregistration tag per retired version, an archive-stage tag per
    # archived one) leaves nothing to retire and nothing to archive.
    counter = max((e.counter or 0 for e in events), default=0)
    archived = [
        move("m", "archived", int(v.split(".")[1]), counter + n, 0)
        for n, v in enumerate(result.archive, 1)
    ]
    retired = [deregister("m", v) for v in result.retired]
    applied = build_state("m", events + retired + archived)
    (again,) = plan([applied], policy, NOW, parents)
    assert again.retired == ()
    assert again.archive == ()
    assert again.kept == result.kept


def test_archiving_plans_the_versions_that_left_a_stage():
    events = [register("churn", minor, days_ago=50 - minor) for minor in range(1, 6)]
    events += [
        move("churn", "production", 1, 1, days_ago=40),
        move("churn", "staging", 2, 2, days_ago=30),
        move("churn", "production", 2, 3, days_ago=20),  # v0.2.0 replaces v0.1.0
        move("churn", "staging", 3, 4, days_ago=10),  # v0.3.0 replaces v0.2.0 in staging
        move("churn", "production", 3, 5, days_ago=5),  # and v0.2.0 in production
        move("churn", "staging", 4, 6, days_ago=4),
        move("churn", "staging", 4, 7, days_ago=3, off=True),  # v0.4.0 taken out of staging
    ]
    policy = Retention(keep_last=5, keep_days=90, archive_stage="archived")
    (result,) = plan([build_state("churn", events)], policy, NOW)
    assert result.archive == ("0.1.0", "0.2.0", "0.4.0")  # v0.3.0 is in production
    assert result.retired == ()
    # Archived once, never again; and an archived version is retired like any other.
    events += [move("churn", "archived", 1, 8, days_ago=2), move("churn", "archived", 2, 9, 1)]
    state = build_state("churn", events)
    assert state.stages["archived"] == "0.2.0"  # GTO's view: the latest assignment
    (result,) = plan([state], policy, NOW)
    assert result.archive == ("0.4.0",)
    (result,) = plan([state], Retention(keep_last=1, keep_days=None, archive_stage="archived"), NOW)
    assert result.retired == ("0.1.0", "0.2.0", "0.4.0")
    assert result.archive == ()  # a version to retire is not archived
    # A deprecated model gets no archive tags: a new tag would make it active again (GTO).
    deprecated = Event("churn", Action.DEPRECATE, "churn@deprecated", "c5", "x", stamp(0), "a")
    (result,) = plan([build_state("churn", [*events, deprecated])], policy, NOW)
    assert result.archive == ()
    # Without an archive stage the same tags are an ordinary stage, which keeps its version.
    (result,) = plan([state], Retention(keep_last=1, keep_days=None), NOW)
    assert "0.2.0" in result.kept and result.archive == ()


def test_a_stage_left_a_moment_ago_keeps_its_version_whatever_the_tag_dates_say():
    # Two promotions in one second: the second tag is dated a second in the future. The version
    # production left must stay for a rollback, and the plan must not depend on the clock.
    events = [register("churn", minor, days_ago=30) for minor in (1, 2, 3)]
    events += [
        move("churn", "production", 1, 1, days_ago=0),
        move("churn", "production", 2, 2, days_ago=-1 / 86400),
    ]
    state = build_state("churn", events)
    (result,) = plan([state], Retention(keep_last=1, keep_days=7), NOW)
    assert result.kept["0.1.0"] == ("held by production within 7 days",)
    assert result.kept["0.2.0"] == ("held by production now",)
    assert result.retired == ()
