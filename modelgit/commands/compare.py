"""The comparison commands: diff (with gates), history --metrics, changelog."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelgit.analysis.compare import Comparison, compare
from modelgit.analysis.gates import GateResult, check, parse_rule
from modelgit.errors import (
    AmbiguousReferenceError,
    InputError,
    ModelgitError,
    UnknownMetricError,
    UnknownModelError,
    UnknownVersionError,
)
from modelgit.model import facts
from modelgit.registry import state as registry
from modelgit.registry.lookup import (
    choose,
    declared,
    model_state,
    pick,
    root_of,
)
from modelgit.registry.state import Event
from modelgit.registry.tags import split_reference
from modelgit.sources import git
from modelgit.sources.tree import Tree
from modelgit.values import as_list, did_you_mean

WORKSPACE = "workspace"


@dataclass(frozen=True)
class DiffSide:
    """What one side of a diff names: a tree and a label, or nothing (no version yet)."""

    tree: Tree | None
    label: str
    model: str | None = None


def _is_model_reference(reference: str) -> bool:
    return "#" in reference or "@v" in reference or reference.endswith("@latest")


def resolve_side(root: Path, reference: str) -> DiffSide:
    """A version (`m@v1.2.0`), a stage (`m#production`), a model (its latest version), a git
    revision, or `workspace`. A bare name that is both a model and a revision is refused, as
    `git diff` refuses a name that is both a revision and a path."""
    if reference == WORKSPACE:
        return DiffSide(Tree(root, None), WORKSPACE)
    if _is_model_reference(reference):
        model, version, stage = split_reference(reference)
        state = model_state(root, model)
        event = pick(state, version, stage, deprecated_ok=True)
        label = event.tag if stage is None else f"{state.name}#{stage} ({event.tag})"
        label += " DEPRECATED" if event.version in state.deregistered else ""
        return DiffSide(Tree(root, event.commit), label, state.name)
    commit = git.resolve_commit(root, reference)
    models = sorted(set(declared(root)) | set(registry.read(root)))
    if reference in models:
        if commit is not None:
            revision = _full_revision(root, reference, commit)
            raise AmbiguousReferenceError(
                f"{reference!r} is both a model and a git revision ({revision}); write "
                f"{reference}@latest for the model's latest version or {revision} for the "
                "revision"
            )
        return _latest_side(root, reference)
    if commit is None:
        raise UnknownVersionError(
            f"{reference!r} is not a version (model@vX.Y.Z), a stage (model#stage), a model "
            f"({', '.join(models) or 'none declared'}), a git revision or `workspace`"
            + did_you_mean(reference, models)
        )
    return DiffSide(Tree(root, commit), reference)


def _full_revision(root: Path, name: str, commit: str) -> str:
    """The ref `name` stands for, spelled so that it names nothing else (else its commit)."""
    for ref in (f"refs/tags/{name}", f"refs/heads/{name}", f"refs/remotes/{name}"):
        if git.resolve_commit(root, ref) is not None:
            return ref
    return commit


def _latest_side(root: Path, model: str) -> DiffSide:
    state = model_state(root, model)
    if state.latest is None:
        return DiffSide(None, "(no version yet)", model)
    return DiffSide(Tree(root, state.latest.commit), state.latest.tag, model)


def _compare(left: DiffSide, right: DiffSide, model_a: str, model_b: str) -> Comparison:
    """Compare what each side knows about its model (`facts.read_pair`)."""
    a, b = facts.read_pair(left.tree, right.tree, model_a, model_b, (left.label, right.label))
    return compare(a, b)


@dataclass(frozen=True)
class DiffResult:
    """The comparisons `diff` made (one per model) and the gates evaluated on them."""

    comparisons: tuple[Comparison, ...]
    gates: tuple[GateResult, ...] = ()

    @property
    def failed(self) -> bool:
        """True when a gate failed."""
        return any(g.failed for g in self.gates)


def diff(
    repo: Path | str = ".",
    a: str | None = None,
    b: str | None = None,
    *,
    model: str | None = None,
    fail_on: list[str] | None = None,
) -> DiffResult:
    """Compare A (default: the model's latest version) with B (default: the work tree).

    With several models and none named (by `model` or by A or B), every model is compared.
    `fail_on` rules (`accuracy<-0.01`, `any-metric-worse`) are evaluated on every comparison.
    """
    rules = [parse_rule(rule) for rule in as_list(fail_on)]
    root = root_of(repo)
    side_a = resolve_side(root, a) if a else None
    side_b = resolve_side(root, b) if b else DiffSide(Tree(root, None), WORKSPACE)
    if side_a is not None and side_a.model and side_b.model and side_a.model != side_b.model:
        # Two models named: each side is its own model, labelled as such (never one model
        # read at the other's commit).
        if model is not None:
            raise InputError(
                f"--model {model} with two different models ({side_a.model}, {side_b.model}); "
                "drop --model"
            )
        comparisons = [_compare(side_a, side_b, side_a.model, side_b.model)]
        return DiffResult(tuple(comparisons), tuple(check(rules, comparisons)))
    named = model or (side_a.model if side_a else None) or side_b.model
    if named is not None:
        known = sorted(set(declared(root)) | set(registry.read(root)))
        models = [choose(known, named)]
    else:
        models = sorted(declared(root))
        if not models:
            raise UnknownModelError("no model is declared; add one to `artifacts:` in dvc.yaml")
    comparisons = []
    for name in models:
        left = side_a or _latest_side(root, name)
        comparisons.append(_compare(left, side_b, name, name))
    return DiffResult(tuple(comparisons), tuple(check(rules, comparisons)))


@dataclass(frozen=True)
class VersionMetrics:
    """One version's metrics, for `history --metrics`."""

    version: str
    tag: str
    created_at: str
    metrics: dict[str, Any]
    directions: dict[str, str] = field(default_factory=dict)  # metric -> higher | lower
    deprecated: bool = False  # deregistered since; kept, marked, as history


def _versions(
    root: Path, model: str | None
) -> tuple[str, list[Event], dict[str, dict[str, Any]], frozenset[str]]:
    """Every registration newest first, deprecated ones included, with their metadata."""
    state = model_state(root, model)
    events = list(reversed(state.registrations()))
    return state.name, events, facts.read_documents(root, events), state.deregistered


def _directions(root: Path, model: str, names: Any) -> dict[str, str]:
    """Which way is better for each metric that has a known direction."""
    from modelgit.model.metrics import direction_of, directions_of

    declaration = declared(root).get(model)
    stated = directions_of(declaration) if declaration else {}
    found = {name: direction_of(name, stated) for name in names}
    return {name: way for name, way in found.items() if way}


def metric_history(
    repo: Path | str = ".", model: str | None = None, names: list[str] | None = None
) -> list[VersionMetrics]:
    """Every version's metrics (from the tag metadata, read in one batch), newest first."""
    names = as_list(names)
    root = root_of(repo)
    name, events, docs, deregistered = _versions(root, model)
    recorded = {k for e in events for k in (docs[e.tag].get("metrics") or {})}
    for wanted in names:
        if events and wanted not in recorded:
            hint = did_you_mean(wanted, recorded) or f" (recorded: {', '.join(sorted(recorded))})"
            raise UnknownMetricError(f"no version of {name} records a metric {wanted!r}{hint}")
    rows = []
    for event in events:
        metrics = docs[event.tag].get("metrics") or {}
        if names:
            metrics = {k: metrics.get(k) for k in names}
        ways = _directions(root, name, metrics)
        rows.append(
            VersionMetrics(
                event.version or "", event.tag, event.created_at, metrics, ways,
                deprecated=event.version in deregistered,
            )
        )  # fmt: skip
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
    directions: dict[str, str] = field(default_factory=dict)  # metric -> higher | lower
    # A major version's migration guide: what a consumer changes, then the breaking commits.
    migration: tuple[str, ...] = ()
    deprecated: bool = False  # deregistered since; kept, marked, as history


def changelog(repo: Path | str = ".", model: str | None = None) -> list[ChangelogEntry]:
    """Every version newest first: date, bump level and reasons, metric and param changes."""
    root = root_of(repo)
    name, events, docs, deregistered = _versions(root, model)
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
                directions=_directions(root, name, metrics),
                migration=_migration(root, event, events[index + 1], doc, before)
                if index + 1 < len(events)
                else (),
                deprecated=event.version in deregistered,
            )
        )
    return entries


def _migration(
    root: Path, event: Event, previous: Event, doc: dict[str, Any], before: dict[str, Any]
) -> tuple[str, ...]:
    """For a major version: the inputs/outputs a consumer must change and breaking commits."""
    from modelgit.analysis.autobump import is_breaking
    from modelgit.analysis.migration import migration_notes
    from modelgit.registry.versions import Version

    if Version(event.version or "0.0.0").major <= Version(previous.version or "0.0.0").major:
        return ()
    notes = [note.text for note in migration_notes(before, doc)]
    notes += [
        f"breaking commit {sha[:12]}: {subject}"
        for sha, subject, body in git.commit_messages(root, previous.commit, event.commit, [])
        if is_breaking(subject, body)
    ]
    return tuple(notes) or ("no input or output changed",)


def compare_commits(root: Path, model: str, old_commit: str, new_commit: str) -> Comparison:
    """Compare two commits of one model (bump auto's evidence)."""
    trees = (Tree(root, old_commit), Tree(root, new_commit))
    try:
        old, new = facts.read_pair(*trees, model, model, (old_commit[:12], "HEAD"))
    except ModelgitError:
        old = facts.Facts(old_commit[:12], old_commit, model, exists=False)
        new = facts.read(trees[1], model, "HEAD")
    return compare(old, new)
