"""The lineage commands' API: what a version came from, and what a change would reach."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelgit.analysis import lineage
from modelgit.errors import UnknownVersionError
from modelgit.model.parents import parent_versions
from modelgit.registry import state as registry
from modelgit.registry.lookup import is_deprecated, model_state, pick, root_of
from modelgit.registry.state import Event
from modelgit.registry.tags import split_reference
from modelgit.sources import git
from modelgit.sources.pipeline import Pipeline, load, read_artifacts
from modelgit.sources.tree import Tree


@dataclass(frozen=True)
class Lineage:
    """Everything upstream of one model at one version (or revision)."""

    model: str
    version: str | None
    commit: str | None
    graph: Any  # networkx.DiGraph: the model's upstream subgraph
    parents: tuple[str, ...]  # `name@vX.Y.Z` (or the bare name when no version matches)
    problems: tuple[str, ...] = ()
    deprecated: bool = False  # the version was deregistered (`modelgit deprecate MODEL VERSION`)

    @property
    def node(self) -> str:
        """The model's node id in `graph`."""
        return lineage.model_node(self.model)


@dataclass(frozen=True)
class ImpactedModel:
    """A model downstream of a change: its latest version and the version each stage holds."""

    name: str
    latest: str | None
    stages: dict[str, str | None]


@dataclass(frozen=True)
class ImpactResult:
    """What changing a data file, stage or param reaches."""

    target: str
    matched: tuple[str, ...]
    models: tuple[ImpactedModel, ...]
    stages: tuple[str, ...]
    rev: str = field(default="workspace")


def graph_at(tree: Tree) -> tuple[Pipeline, Any]:
    """The pipeline of a tree and its full lineage graph."""
    pipe = load(tree)
    return pipe, lineage.build(pipe, read_artifacts(pipe.dvcfiles))


def problems_of(pipe: Pipeline, graph: Any) -> tuple[str, ...]:
    """Cycles and dependencies nothing provides, as sentences."""
    found = lineage.check(graph, pipe.tree.files())
    notes = [f"cycle: {' -> '.join(cycle)}" for cycle in found.cycles]
    notes += [
        f"{path} is a dependency that nothing produces and the tree lacks"
        for path in found.unproduced
    ]
    return tuple(notes)


def lineage_of(repo: Path | str = ".", reference: str | None = None) -> Lineage:
    """Upstream of `model`, `model@vX.Y.Z` or `model#stage` as that version's commit has it.

    A bare model name means its latest version, or the work tree when it has none yet.
    """
    root = root_of(repo)
    model, version, stage = (
        split_reference(reference) if reference is not None else (None, None, None)
    )
    state = model_state(root, model)
    event: Event | None = None
    if version or stage or state.latest is not None:
        event = pick(state, version, stage, deprecated_ok=True)
    tree = Tree(root, event.commit if event else None)
    pipe, graph = graph_at(tree)
    artifact = read_artifacts(pipe.dvcfiles).get(state.name)
    sub = lineage.upstream(graph, state.name)
    node = lineage.model_node(state.name)
    deprecated = event is not None and is_deprecated(state, event)
    sub.nodes[node]["version"] = event.version if event else None
    sub.nodes[node]["deprecated"] = deprecated
    return Lineage(
        model=state.name,
        version=event.version if event else None,
        commit=event.commit if event else None,
        graph=sub,
        parents=tuple(parent_versions(root, pipe, artifact) if artifact else ()),
        problems=problems_of(pipe, sub),
        deprecated=deprecated,
    )


def impact(repo: Path | str = ".", target: str = "", rev: str | None = None) -> ImpactResult:
    """Every model (latest version, stages it holds) and stage downstream of `target`."""
    root = root_of(repo)
    commit = None
    if rev is not None:
        commit = git.resolve_commit(root, rev)
        if commit is None:
            raise UnknownVersionError(f"{rev!r} is not a git revision")
    _, graph = graph_at(Tree(root, commit))
    reach = lineage.impact(graph, target)
    states = registry.read(root)
    models = []
    for name in reach.models:
        state = states.get(name)
        latest = state.latest.version if state and state.latest else None
        models.append(ImpactedModel(name, latest, dict(state.stages) if state else {}))
    return ImpactResult(target, reach.targets, tuple(models), reach.stages, rev or "workspace")
