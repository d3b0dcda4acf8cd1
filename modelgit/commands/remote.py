"""Reading a registry you have not cloned: `list`, `history` and `show` with `--remote URL`.

`list` and `history` need only `git ls-remote --tags` (names, versions, stages, counters).
`show` fetches just the tag objects it reads, into a per-user cache keyed by tag object id.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from modelgit.commands.read_results import HistoryEntry, ModelSummary, VersionInfo
from modelgit.errors import GitError, RemoteError, UnknownModelError
from modelgit.registry import state as registry
from modelgit.registry.state import Event, ModelState
from modelgit.registry.tags import Action, model_from_tag, split_reference
from modelgit.registry.versions import version_key
from modelgit.sources import git
from modelgit.values import DEFAULT_STAGES


def cache_dir() -> Path:
    """Where fetched tag objects are kept: `$XDG_CACHE_HOME/modelgit` (or `~/.cache/modelgit`)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "modelgit" / "remote-tags.git"


def _states(url: str) -> dict[str, ModelState]:
    with registry.without_cycle_collection():
        try:
            tags = git.ls_remote_tags(url)
        except GitError as exc:
            raise RemoteError(f"cannot read tags of {url}: {exc.first_line}") from exc
        return registry.fold(tags)


def _state(url: str, model: str | None) -> ModelState:
    states = _states(url)
    if model is None and len(states) != 1:  # tags name the models here, not a dvc.yaml
        if not states:
            raise UnknownModelError(f"{url} has no registry tags: no model is registered there")
        raise UnknownModelError(
            f"{url} registers several models ({', '.join(sorted(states))}); name one"
        )
    return states[registry.choose(sorted(states), model_from_tag(model) if model else None)]


def list_remote(url: str) -> list[ModelSummary]:
    """Every registered model of the repository at `url`: latest version and stages."""
    return [
        ModelSummary(
            name=name,
            latest=state.latest.version if state.latest else None,
            stages=_stages(state),
            deprecated=state.deprecated,
            declared=None,  # no dvc.yaml is read
        )
        for name, state in sorted(_states(url).items())
    ]


def _stages(state: ModelState) -> dict[str, str | None]:
    """The built-in stages (None where no version holds them) in their order, then the others
    by name, as a local `list` with no stages configured shows them (the remote's
    .modelgit.yaml is not read)."""
    stages = {**dict.fromkeys(DEFAULT_STAGES), **state.stages}
    order = {stage: index for index, stage in enumerate(DEFAULT_STAGES)}
    return {s: stages[s] for s in sorted(stages, key=lambda s: (order.get(s, len(order)), s))}


def history_remote(url: str, model: str | None = None) -> list[HistoryEntry]:
    """A model's registry events at `url`, newest first, in GTO's counter order (no dates:
    those live in the tag objects, which `ls-remote` does not send; `created_at` is None)."""
    state = _state(url, model)
    return [
        HistoryEntry(
            e.action.value,
            e.version,
            e.stage,
            e.tag,
            e.commit,
            None,
            e.author,
            deprecated=e.action is Action.REGISTER and e.version in state.deregistered,
        )
        for e in remote_order(state.events)
    ]


def remote_order(events: Iterable[Event]) -> list[Event]:
    """Events newest first without dates. Stage tags by their counter; a registration just
    below the first counted event of its version or of any later version (versions are
    registered in order, and before any stage takes them), at the top if none has one, lower
    versions first; a deregistration by its counter, else above all those (a version is
    retired after its use, `gc` long after), lower versions first; a model's deprecation
    last of all."""
    events = list(events)
    first: dict[str, int] = {}
    for e in events:
        if e.counter is not None and e.version:
            first[e.version] = min(first.get(e.version, e.counter), e.counter)

    def registered(version: str) -> float:
        later = [n for v, n in first.items() if version_key(v) >= version_key(version)]
        return min(later) - 0.5 if later else math.inf

    def key(e: Event) -> tuple[float, int, tuple[Any, ...], int]:
        version = e.version or ""
        if e.action is Action.DEPRECATE:
            return (math.inf, 2, (), 0)
        if e.counter is not None:
            return (float(e.counter), 0, version_key(version), _ORDER[e.action])
        if e.action is Action.DEREGISTER:
            return (math.inf, 1, version_key(version), 0)
        return (registered(version), 0, version_key(version), 0)

    return sorted(events, key=key, reverse=True)


_ORDER = {Action.REGISTER: 0, Action.DEREGISTER: 1, Action.ASSIGN: 2, Action.UNASSIGN: 3,
          Action.DEPRECATE: 4}  # fmt: skip


def show_remote(url: str, reference: str | None = None) -> VersionInfo:
    """One version at `url` with its metadata, fetching only that tag object (cached).

    A tag without usable metadata (GTO wrote it, say) is shown with `problem` set and empty
    metadata: with no clone there is no commit to derive it from. The key metric is ranked by
    metric names alone, as the model's declaration in dvc.yaml is not read either.
    """
    from modelgit.commands.show import version_info
    from modelgit.model.metrics import key_metric
    from modelgit.registry.lookup import metadata_of, pick

    model, version, stage = split_reference(reference) if reference else (None, None, None)
    state = _state(url, model)
    event = pick(state, version, stage, deprecated_ok=True)
    try:
        # The fetch runs in the cache: a path or remote name is resolved here first.
        source = git.absolute_url(url)
        raw = git.fetch_tag_objects(cache_dir(), source, {event.tag: event.object_id})[event.tag]
    except GitError as exc:
        raise RemoteError(f"cannot fetch {event.tag} from {url}: {exc.first_line}") from exc
    except OSError as exc:
        raise RemoteError(
            f"cannot keep fetched tags in {cache_dir()}: {exc.strerror or exc}; point "
            "XDG_CACHE_HOME at a writable folder"
        ) from exc
    if raw is None:
        raise RemoteError(f"{url} did not send the tag object of {event.tag}")
    document, problem, signed = metadata_of(event, raw)
    if document is None:
        problem = f"{problem} (with no clone, nothing is derived from the commit)"
    values = (document or {}).get("metrics") or {}
    return version_info(
        state, event, document or {}, signed,
        problem=problem,
        key_metric=key_metric(values if isinstance(values, dict) else {}, {}),
    )  # fmt: skip
