"""The registry as refs: versions, stage assignments and their history, from one `for-each-ref`."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

from modelgit.errors import UnknownModelError
from modelgit.registry.tags import (
    Action,
    model_from_tag,
    model_part,
    model_to_tag,
    suffix_part,
    tag_fields,
)
from modelgit.registry.versions import Version, version_key
from modelgit.sources import git

# GTO's order for events that share a timestamp: register before assign, and so on.
_PRIORITY = {
    Action.REGISTER: 3,
    Action.DEREGISTER: 4,
    Action.ASSIGN: 5,
    Action.UNASSIGN: 6,
    Action.DEPRECATE: 7,
}
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_STAGE_ACTIONS = (Action.ASSIGN, Action.UNASSIGN)


class Event(NamedTuple):
    """One registry tag: a registration, deregistration, stage (un)assignment or deprecation."""

    model: str
    action: Action
    tag: str
    commit: str
    object_id: str
    created_at: str
    author: str
    version: Version | None = None
    stage: str | None = None
    counter: int | None = None


@dataclass(frozen=True)
class ModelState:
    """Everything the tags say about one model."""

    name: str
    versions: tuple[Event, ...]  # active registrations, lowest version first
    stages: dict[str, Version | None]  # stage -> current version (None when unassigned)
    deprecated: bool
    events: tuple[Event, ...]  # in no particular order; see history()
    deregistered: frozenset[str] = frozenset()  # versions deprecated with `<name>@vX.Y.Z!`

    @property
    def latest(self) -> Event | None:
        """The highest active version, or None before the first one."""
        return self.versions[-1] if self.versions else None

    def version(self, version: str) -> Event | None:
        """The active registration of `version`, if any."""
        return next((e for e in self.versions if e.version == version), None)

    def registration(self, version: str) -> Event | None:
        """The registration of `version`, active or deprecated since, if it was ever registered."""
        return next(
            (e for e in self.events if e.action is Action.REGISTER and e.version == version), None
        )

    def registrations(self) -> list[Event]:
        """Every registration ever made, deregistered (deprecated) ones included, lowest first."""
        events = [e for e in self.events if e.action is Action.REGISTER and e.version is not None]
        return sorted(events, key=lambda e: version_key(e.version or ""))

    def is_deregistered(self, version: str | None) -> bool:
        """True when `version` was deprecated with a deregistration tag."""
        return version in self.deregistered

    def highest_ever(self) -> Version | None:
        """The highest version ever tagged: registered, deprecated or deregistered."""
        tagged = [
            e.version
            for e in self.events
            if e.version is not None and e.action in (Action.REGISTER, Action.DEREGISTER)
        ]
        return max(tagged, key=version_key) if tagged else None

    def history(self) -> list[Event]:
        """Every event, newest first (tag date, then GTO's counter, then GTO's action order)."""
        return sorted(self.events, key=_history_key, reverse=True)

    def next_counter(self) -> int:
        """GTO's counter for a new stage tag: one more than the largest on any tag of the model."""
        return 1 + max((e.counter or 0 for e in self.events), default=0)


def _when(event: Event) -> datetime:
    try:
        return datetime.fromisoformat(event.created_at)
    except ValueError:
        return _EPOCH


def _history_key(event: Event) -> tuple[datetime, int, int]:
    return (_when(event), event.counter or 0, _PRIORITY[event.action])


def events_from_tags(tags: Iterable[git.TagRow]) -> dict[str, list[Event]]:
    """Registry events per model from raw tags; tags outside the grammar are skipped."""
    events: dict[str, list[Event]] = {}
    # The hot loop of every registry read (13,500 tags in a large registry). It is
    # `tag_fields` inlined, with its two caches as local dicts (a call per tag was a fifth
    # of the loop; tests/registry/test_tags.py holds the two to the same answers), and plain
    # tuples made with tuple.__new__, which spares a NamedTuple's keyword handling per tag.
    make = tuple.__new__
    models: dict[str, str | None] = {}
    suffixes: dict[str, tuple[Action, Version | None, str | None, int | None] | None] = {}
    for name, object_id, commit, created_at, tagger in tags:
        at, hashed = name.find("@"), name.find("#")
        cut = at if hashed < 0 or 0 <= at < hashed else hashed
        if cut < 0:
            continue
        artifact, suffix = name[:cut], name[cut:]
        try:
            model = models[artifact]
        except KeyError:
            model = models[artifact] = model_part(artifact)
        try:
            rest = suffixes[suffix]
        except KeyError:
            rest = suffixes[suffix] = suffix_part(suffix)
        if model is None or rest is None:
            continue
        action, version, stage, counter = rest
        event = make(
            Event,
            (model, action, name, commit, object_id, created_at, tagger, version, stage, counter),
        )
        group = events.get(model)
        if group is None:
            events[model] = group = []
        group.append(event)
    return events


def tags_by_model(listed: Iterable[tuple[str, str]]) -> dict[str, list[tuple[str, str]]]:
    """Tags (name, object id) per model, told apart by their names alone (no tag object is
    read); tags outside the grammar are skipped."""
    by_model: dict[str, list[tuple[str, str]]] = {}
    for tag in listed:
        fields = tag_fields(tag[0])
        if fields is not None:
            by_model.setdefault(fields[0], []).append(tag)
    return by_model


def active_versions(names: Iterable[str]) -> list[Version]:
    """A model's active versions, lowest first, from its tag names alone: the versions
    `build_state` keeps (registrations that no deregistration tag cancels)."""
    registered: list[Version] = []
    deregistered: set[Version] = set()
    for name in names:
        fields = tag_fields(name)
        if fields is None or fields[2] is None:
            continue
        if fields[1] is Action.REGISTER:
            registered.append(fields[2])
        elif fields[1] is Action.DEREGISTER:
            deregistered.add(fields[2])
    return sorted((v for v in registered if v not in deregistered), key=version_key)


def registered_versions(names: Iterable[str]) -> list[Version]:
    """Every version a model ever registered, lowest first, from its tag names alone: the
    versions `ModelState.registrations` lists (deregistered ones included)."""
    registered = []
    for name in names:
        fields = tag_fields(name)
        if fields is not None and fields[1] is Action.REGISTER and fields[2] is not None:
            registered.append(fields[2])
    return sorted(registered, key=version_key)


def build_state(name: str, events: list[Event]) -> ModelState:
    """Fold one model's events into its versions and current stages.

    One pass sorts the events out (a large registry folds 13,500 of them per command): the
    registrations, the deregistered versions, the highest version registered on each commit,
    the stage events, which name no version until they get the one on their commit, and the
    deprecations.
    """
    registrations: list[Event] = []
    deregistered: set[Version] = set()
    by_commit: dict[str, Event] = {}
    staged: list[int] = []
    deprecations: list[Event] = []
    register, deregister, deprecate = Action.REGISTER, Action.DEREGISTER, Action.DEPRECATE
    for index, event in enumerate(events):
        action = event.action
        if action is register:
            registrations.append(event)
            held = by_commit.get(event.commit)
            if held is None or version_key(event.version or "") > version_key(held.version or ""):
                by_commit[event.commit] = event
        elif action is deregister:
            if event.version:
                deregistered.add(event.version)
        elif action is deprecate:
            deprecations.append(event)
        else:
            staged.append(index)
    unversioned = [index for index in staged if events[index].version is None]
    if unversioned:
        events = list(events)
        for index in unversioned:
            registered = by_commit.get(events[index].commit)
            version = registered.version if registered else None
            event = events[index]  # Event._replace, without its keyword handling
            events[index] = tuple.__new__(Event, (*event[:7], version, *event[8:]))
    versions = sorted(
        (e for e in registrations if e.version not in deregistered) if deregistered
        else registrations,
        key=_registration_key,
    )  # fmt: skip
    active = {e.version for e in versions}
    return ModelState(
        name=name,
        versions=tuple(versions),
        stages=current_stages([events[index] for index in staged], active),
        deprecated=_is_deprecated(events, deprecations),
        events=tuple(events),
        deregistered=frozenset(deregistered),
    )


def _registration_key(event: Event) -> tuple[Any, ...]:
    return version_key(event.version or "")


def _stage_order(event: Event) -> tuple[bool, int, str]:
    # Counters order stage events, never timestamps (one-second resolution makes ties
    # common); tags without a counter (older GTO) count as older than every counted one.
    return (event.counter is not None, event.counter or 0, event.created_at)


def current_stages(
    events: Iterable[Event], active: set[Version | None]
) -> dict[str, Version | None]:
    """Stage -> the version it holds now (None when it holds none), as GTO decides it.

    Each (stage, version) pair is assigned while its latest event is an assignment: an
    unassignment `<name>#<stage>!#N` takes only the version on its commit out of the stage.
    A stage holds the active (not deregistered) version whose assignment is the latest.
    """
    stage_events = sorted((e for e in events if e.action in _STAGE_ACTIONS), key=_stage_order)
    last: dict[tuple[str, Version | None], Event] = {}
    for event in stage_events:
        last[(event.stage or "", event.version)] = event
    stages: dict[str, Version | None] = dict.fromkeys(sorted({s for s, _ in last}))
    for (stage, version), event in sorted(last.items(), key=lambda item: _stage_order(item[1])):
        if event.action is Action.ASSIGN and version in active:
            stages[stage] = version
    return stages


def _is_deprecated(events: list[Event], deprecations: list[Event]) -> bool:
    """True when the model's deprecation (one of `deprecations`) is its latest event, as GTO
    decides it.

    GTO orders by date here (a deprecation carries no counter): a model that gets a new event
    after its deprecation is active again, and a tie goes to the other event. A deprecation
    read without its date (`ls-remote` sends none) counts as the latest event, as
    `history --remote` places it.
    """
    if not deprecations:
        return False
    if any(not e.created_at for e in deprecations):
        return True
    deprecated_at = max(_when(e) for e in deprecations)
    return all(_when(e) < deprecated_at for e in events if e.action is not Action.DEPRECATE)


def choose(names: list[str], model: str | None) -> str:
    """The model meant: `model` if given and known, else the only one there is."""
    if model is not None:
        model = model_from_tag(model)
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


def read(repo: Path, model: str | None = None) -> dict[str, ModelState]:
    """The registry state of every model (or of one) with a single `git for-each-ref`."""
    if model is None:
        patterns = ["refs/tags"]
    else:
        prefix = f"refs/tags/{model_to_tag(model)}"
        patterns = [f"{prefix}@*", f"{prefix}#*"]
    with without_cycle_collection():
        tags = git.read_tags(repo, patterns)
        if model is None:
            return fold(tags)
        return {model: build_state(model, events_from_tags(tags).get(model, []))}


def fold(tags: Iterable[git.TagRow]) -> dict[str, ModelState]:
    """The registry state of every model the tags name, by name (for tags read elsewhere, as
    `ls-remote` reads them)."""
    with without_cycle_collection():
        per_model = events_from_tags(tags)
        return {name: build_state(name, events) for name, events in sorted(per_model.items())}


@contextlib.contextmanager
def without_cycle_collection() -> Iterator[None]:
    """Pause the cyclic garbage collector while the registry is read (and its tags listed).

    A large registry is tens of thousands of small tuples and strings, none of them in a
    cycle, and allocating them sets off the collector dozens of times for nothing: a third of
    the time a first read of 13,500 tags took. Reference counting still frees everything.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
