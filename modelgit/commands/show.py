"""The read commands: `list`, `show` and `history`, from one `for-each-ref` (and one tag read)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelgit.commands.read_results import HistoryEntry, KeyMetric, ModelSummary, VersionInfo
from modelgit.registry import metadata
from modelgit.registry import state as registry
from modelgit.registry.lookup import (
    check_complete_clone,
    declared,
    is_deprecated,
    model_state,
    pick,
    read_metadata,
    root_of,
)
from modelgit.registry.state import Event, ModelState
from modelgit.registry.tags import Action, split_reference
from modelgit.registry.versions import Version
from modelgit.sources import config, pipeline


def list_models(repo: Path | str = ".", *, metrics: bool = False) -> list[ModelSummary]:
    """Every declared or registered model with its latest version and the version in each
    stage: every stage in effect (configured or built-in), None where no version holds it.

    With `metrics`, each summary also carries the key metric of its latest version and of each
    stage's version (all their tags read in one batch).
    """
    root = root_of(repo)
    states = registry.read(root)
    known = declared(root)
    configured = config.load(root).stage_order()
    order = {stage: i for i, stage in enumerate(configured)}
    keyed = _key_metrics(root, states, known) if metrics else {}
    summaries = []
    for name in sorted(set(states) | set(known)):
        state = states.get(name)
        latest = state.latest if state else None
        summaries.append(
            ModelSummary(
                name=name,
                latest=latest.version if latest else None,
                # Every stage in effect has its column, held or not (None), then any other
                # stage the tags name (GTO's, or one dropped from the configuration since).
                stages=_in_order(
                    {**dict.fromkeys(configured), **(state.stages if state else {})}, order
                ),
                deprecated=state.deprecated if state else False,
                declared=name in known,
                metrics=keyed.get(name, {}) if metrics else None,
            )
        )
    return summaries


def _in_order(stages: dict[str, Any], order: dict[str, int]) -> dict[str, Any]:
    """Stages in the configured promotion order, then any others by name."""
    return dict(sorted(stages.items(), key=lambda item: (order.get(item[0], len(order)), item[0])))


def _key_metrics(
    root: Path, states: dict[str, registry.ModelState], artifacts: dict[str, pipeline.Artifact]
) -> dict[str, dict[str, KeyMetric]]:
    """Per model: "latest" or a stage -> the key metric of the version it names."""
    from modelgit.model import facts, metrics

    wanted: dict[str, Event] = {}
    for state in states.values():
        for version in {state.latest.version if state.latest else None, *state.stages.values()}:
            event = state.version(version) if version else None
            if event is not None:
                wanted[event.tag] = event
    docs = facts.read_documents(root, list(wanted.values()))
    result: dict[str, dict[str, KeyMetric]] = {}
    for name, state in states.items():
        declaration = artifacts.get(name)
        directions = metrics.directions_of(declaration) if declaration else {}
        preferred = declaration.meta.get("key_metric") if declaration else None
        holders = {"latest": state.latest.version if state.latest else None, **state.stages}
        for label, version in holders.items():
            event = state.version(version) if version else None
            if event is None:
                continue
            values = docs[event.tag].get("metrics") or {}
            key = metrics.key_metric(values, directions, preferred)
            if key is not None:
                result.setdefault(name, {})[label] = KeyMetric(key, values[key])
    return result


def show(repo: Path | str = ".", reference: str | None = None) -> VersionInfo:
    """One version (`model`, `model@v1.2.3` or `model#stage`; latest by default) with metadata."""
    root = root_of(repo)
    model, version, stage = (
        split_reference(reference) if reference is not None else (None, None, None)
    )
    state = model_state(root, model)
    if not state.versions and version is None and stage is None:
        check_complete_clone(root)  # "no versions yet" is wrong where tags were not fetched
    event = pick(state, version, stage, deprecated_ok=True)
    document, problem, signed = read_metadata(root, event)
    derived = document is None
    if document is None:
        from modelgit.model.facts import derive_metadata  # only tags without metadata

        document = derive_metadata(root, event)
    values = document.get("metrics") or {}
    return version_info(
        state, event, document, signed,
        derived=derived,
        problem=problem,
        key_metric=_key_of(root, state.name, values if isinstance(values, dict) else {}),
    )  # fmt: skip


def version_info(
    state: ModelState, event: Event, document: dict[str, Any], signed: bool, **extra: Any
) -> VersionInfo:
    """A version's `VersionInfo` from its registration and metadata document, here or remote."""
    assert event.version is not None
    return VersionInfo(
        model=state.name,
        version=event.version,
        tag=event.tag,
        commit=event.commit,
        metadata=metadata.to_jsonable(document),
        assigned_stages=tuple(s for s, v in state.stages.items() if v == event.version),
        deprecated=is_deprecated(state, event),
        signed=signed,
        model_deprecated=state.deprecated,
        **extra,
    )


def _key_of(root: Path, model: str, values: dict[str, Any]) -> str | None:
    """The key metric among `values`, as the model's declaration (at HEAD) ranks them."""
    from modelgit.model import metrics

    declaration = declared(root).get(model)
    directions = metrics.directions_of(declaration) if declaration else {}
    preferred = declaration.meta.get("key_metric") if declaration else None
    return metrics.key_metric(values, directions, preferred)


@dataclass(frozen=True)
class VersionRow:
    """One row of `list MODEL`: a version, the stages that hold it, its date and key metric."""

    version: str
    tag: str
    commit: str
    created_at: str
    author: str
    stages: tuple[str, ...]
    key_metric: KeyMetric | None
    deprecated: bool = False


def list_versions(repo: Path | str = ".", model: str | None = None) -> list[VersionRow]:
    """Every version of one model, newest first, as `gto show MODEL` lists them."""
    from modelgit.model import facts

    root = root_of(repo)
    state = model_state(root, model)
    dropped = set(state.deregistered)
    registrations = [e for e in state.events if e.action is Action.REGISTER and e.version]
    registrations.sort(key=lambda e: Version(e.version or "0.0.0"), reverse=True)
    docs = facts.read_documents(root, registrations)
    rows = []
    for event in registrations:
        values = docs[event.tag].get("metrics") or {}
        key = _key_of(root, state.name, values) if isinstance(values, dict) else None
        rows.append(
            VersionRow(
                version=str(event.version),
                tag=event.tag,
                commit=event.commit,
                created_at=event.created_at,
                author=event.author,
                stages=tuple(s for s, v in state.stages.items() if v == event.version),
                key_metric=KeyMetric(key, values[key]) if key else None,
                deprecated=event.version in dropped or state.deprecated,
            )
        )
    return rows


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
            deprecated=e.action is Action.REGISTER and e.version in state.deregistered,
        )
        for e in state.history()
    ]
