"""The comparison commands' API: diff, metric history, changelog, and bump auto's evidence."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelgit import gitrepo, registry
from modelgit.comparison import Comparison, compare, direction_of
from modelgit.errors import ModelgitError, UnknownModelError, UnknownVersionError
from modelgit.names import split_reference
from modelgit.registry import Event
from modelgit.resolve import (
    choose,
    declared,
    documents,
    model_state,
    normalise,
    pick,
    root_of,
)
from modelgit.snapshot import Snapshot, take
from modelgit.trees import Tree

WORKSPACE = "workspace"


@dataclass(frozen=True)
class Side:
    """What one side of a diff names: a tree and a label, or nothing (no version yet)."""

    tree: Tree | None
    label: str
    model: str | None = None


def _is_model_reference(reference: str) -> bool:
    return "#" in reference or "@v" in reference or reference.endswith("@latest")


def resolve_side(root: Path, reference: str) -> Side:
    """A version (`m@v1.2.0`), a stage (`m#production`), a git revision, or `workspace`."""
    if reference == WORKSPACE:
        return Side(Tree(root, None), WORKSPACE)
    if _is_model_reference(reference):
        model, version, stage = split_reference(reference)
        state = model_state(root, model)
        event = pick(state, version, stage)
        label = event.tag if stage is None else f"{state.name}#{stage} ({event.tag})"
        return Side(Tree(root, event.commit), label, state.name)
    commit = gitrepo.resolve_commit(root, reference)
    if commit is None:
        raise UnknownVersionError(
            f"{reference!r} is not a version (model@vX.Y.Z), a stage (model#stage), a git "
            "revision or `workspace`"
        )
    return Side(Tree(root, commit), reference)


def _latest_side(root: Path, model: str) -> Side:
    state = model_state(root, model)
    if state.latest is None:
        return Side(None, "(no version yet)", model)
    return Side(Tree(root, state.latest.commit), state.latest.tag, model)


def _snapshot(side: Side, model: str) -> Snapshot:
    if side.tree is None:
        return Snapshot(side.label, None, model, exists=False)
    return take(side.tree, model, side.label)


def diff(
    repo: Path | str = ".", a: str | None = None, b: str | None = None, model: str | None = None
) -> list[Comparison]:
    """Compare A (default: the model's latest version) with B (default: the work tree).

    With several models and none named (by `model` or by A or B), every model is compared.
    """
    root = root_of(repo)
    side_a = resolve_side(root, a) if a else None
    side_b = resolve_side(root, b) if b else Side(Tree(root, None), WORKSPACE)
    named = model or (side_a.model if side_a else None) or side_b.model
    if named is not None:
        known = sorted(set(declared(root)) | set(registry.read(root)))
        models = [choose(known, normalise(named))]
    else:
        models = sorted(declared(root))
        if not models:
            raise UnknownModelError("no model is declared; add one to `artifacts:` in dvc.yaml")
    comparisons = []
    for name in models:
        left = side_a or _latest_side(root, name)
        comparisons.append(compare(_snapshot(left, name), _snapshot(side_b, name)))
    return comparisons


def breaking_commits(root: Path, since: str, until: str, paths: list[str]) -> list[str]:
    """Commits in since..until touching `paths` that declare a breaking change, as `sha subject`."""
    from modelgit.autobump import is_breaking

    out = gitrepo.run(
        root, ["log", "--format=%H%x00%s%x00%b%x1e", f"{since}..{until}", "--", *paths]
    )
    found = []
    for record in out.split("\x1e"):
        fields = record.strip("\n").split("\x00")
        if len(fields) == 3 and is_breaking(fields[1], fields[2]):
            found.append(f"{fields[0][:12]} ({fields[1]})")
    return found


@dataclass(frozen=True)
class VersionMetrics:
    """One version's metrics, for `history --metrics`."""

    version: str
    tag: str
    created_at: str
    metrics: dict[str, Any]


def _versions(root: Path, model: str | None) -> tuple[str, list[Event], dict[str, dict[str, Any]]]:
    state = model_state(root, model)
    events = list(reversed(state.versions))  # newest first
    return state.name, events, documents(root, events)


def metric_history(
    repo: Path | str = ".", model: str | None = None, names: list[str] | None = None
) -> list[VersionMetrics]:
    """Every version's metrics (from the tag metadata, read in one batch), newest first."""
    _, events, docs = _versions(root_of(repo), model)
    rows = []
    for event in events:
        metrics = docs[event.tag].get("metrics") or {}
        if names:
            metrics = {k: metrics.get(k) for k in names}
        rows.append(VersionMetrics(event.version or "", event.tag, event.created_at, metrics))
    return rows


@dataclass(frozen=True)
class ChangelogEntry:
    """One version in `changelog`."""

    version: str
    tag: str
    date: str
    level: str | None
    reasons: tuple[str, ...]
    metrics: tuple[tuple[str, Any, Any], ...]  # (name, previous, this)
    params: tuple[tuple[str, Any, Any], ...]  # changed params: (name, previous, this)


def changelog(repo: Path | str = ".", model: str | None = None) -> list[ChangelogEntry]:
    """Every version newest first: date, bump level and reasons, metric and param changes."""
    _, events, docs = _versions(root_of(repo), model)
    entries = []
    for index, event in enumerate(events):
        doc = docs[event.tag]
        before = docs[events[index + 1].tag] if index + 1 < len(events) else {}
        bump = doc.get("bump") or {}
        metrics, old_metrics = doc.get("metrics") or {}, before.get("metrics") or {}
        params, old_params = doc.get("params") or {}, before.get("params") or {}
        entries.append(
            ChangelogEntry(
                version=event.version or "",
                tag=event.tag,
                date=str(doc.get("created_at") or event.created_at),
                level=bump.get("level") if isinstance(bump, dict) else None,
                reasons=tuple(bump.get("reasons") or ()) if isinstance(bump, dict) else (),
                metrics=tuple((k, old_metrics.get(k), v) for k, v in metrics.items()),
                params=tuple(
                    (k, old_params.get(k), params.get(k))
                    for k in sorted(set(params) | set(old_params))
                    if before and old_params.get(k) != params.get(k)
                ),
            )
        )
    return entries


def key_metric(metrics: dict[str, Any], directions: dict[str, str]) -> str | None:
    """The metric to headline: the first one with a declared direction, else the first number."""
    for name in directions:
        if name in metrics:
            return name
    numeric = [
        k for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
    ]
    known = [k for k in numeric if direction_of(k, {}) is not None]
    candidates = known or numeric
    return candidates[0] if candidates else None


def snapshot_pair(root: Path, model: str, old_commit: str, new_commit: str) -> Comparison:
    """Compare two commits of one model (bump auto's evidence)."""
    try:
        old = take(Tree(root, old_commit), model, old_commit[:12])
    except ModelgitError:
        old = Snapshot(old_commit[:12], old_commit, model, exists=False)
    return compare(old, take(Tree(root, new_commit), model, "HEAD"))


def key_metrics(repo: Path | str = ".") -> dict[str, dict[str, tuple[str, Any]]]:
    """For `list --metrics`: per model, the key metric of its latest and of each stage's version.

    Result: model -> {"latest" or stage name -> (metric name, value)}; all tags in one batch.
    """
    from modelgit import registry

    root = root_of(repo)
    states = registry.read(root)
    wanted: dict[str, Event] = {}
    for state in states.values():
        for version in {state.latest.version if state.latest else None, *state.stages.values()}:
            event = state.version(version) if version else None
            if event is not None:
                wanted[event.tag] = event
    docs = documents(root, list(wanted.values()))
    artifacts = declared(root)
    result: dict[str, dict[str, tuple[str, Any]]] = {}
    for name, state in states.items():
        meta = artifacts[name].meta if name in artifacts else {}
        directions = {
            str(m): d
            for key, d in (("higher_is_better", "higher"), ("lower_is_better", "lower"))
            for m in meta.get(key) or []
        }
        holders = {"latest": state.latest.version if state.latest else None, **state.stages}
        for label, version in holders.items():
            event = state.version(version) if version else None
            if event is None:
                continue
            metrics = docs[event.tag].get("metrics") or {}
            preferred = meta.get("key_metric")
            key = preferred if preferred in metrics else key_metric(metrics, directions)
            if key is not None:
                result.setdefault(name, {})[label] = (key, metrics[key])
    return result
