"""A model card as data: the values a card shows, and the pure builders of its parts."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from modelgit.analysis.migration import MigrationNote
from modelgit.analysis.pipeline_graph import PipelineGraph, generations
from modelgit.model.metrics import direction_of
from modelgit.registry.versions import Version
from modelgit.values import is_number

# The first line of every card modelgit writes: `card -o` overwrites only a file that starts
# with it (an HTML comment: invisible in rendered Markdown and in a browser).
CARD_MARKER = "<!-- modelgit card -->"


@dataclass(frozen=True)
class MetricRow:
    """One metric of the version, beside the previous version's and production's values."""

    name: str
    value: Any
    direction: str | None  # higher | lower | None when unknown
    previous: Any = None
    production: Any = None


@dataclass(frozen=True)
class LineageNode:
    """One box of the lineage graph: a data file, stage, param file, parent or the model."""

    id: str
    kind: str  # file | stage | param | model
    label: str


@dataclass(frozen=True)
class CardLineage:
    """The graph a card draws: nodes in layers (sources first) and the edges between them."""

    layers: tuple[tuple[LineageNode, ...], ...]
    edges: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class BreakingCommit:
    """A commit since the previous version that declares a breaking change."""

    sha: str
    subject: str


@dataclass(frozen=True)
class ModelCard:
    """Everything a model card shows about one version."""

    model: str
    version: Version
    tag: str
    commit: str
    metadata: dict[str, Any]
    description: str = ""
    kind: str = "model"
    labels: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)
    metrics: tuple[MetricRow, ...] = ()
    previous_version: Version | None = None
    production_stage: str | None = None
    production_version: Version | None = None
    stages: tuple[str, ...] = ()  # the stages that hold this version now
    deprecated: bool = False  # the model or this version is deprecated
    version_deprecated: bool = False  # this version was deprecated (`<name>@vX.Y.Z!`)
    deprecation_reason: str = ""  # what the deprecation tag says of why, when it says
    signed: bool = False
    signature: str = "unsigned"  # verified | unsigned | the reason it does not verify
    lineage: CardLineage = field(default_factory=lambda: CardLineage((), ()))
    migration: tuple[MigrationNote, ...] = ()
    breaking_commits: tuple[BreakingCommit, ...] = ()

    @property
    def is_major(self) -> bool:
        """True when this version is a major bump over the previous one."""
        if self.previous_version is None:
            return False
        return self.version.major > Version(self.previous_version).major


def production_stage(stages: tuple[str, ...], order: tuple[str, ...]) -> str | None:
    """The stage that serves users: `production` if configured, else the last in promotion order."""
    if "production" in stages:
        return "production"
    ordered = order or stages
    return ordered[-1] if ordered else None


def metric_rows(
    metrics: dict[str, Any],
    directions: dict[str, str],
    previous: dict[str, Any] | None,
    production: dict[str, Any] | None,
) -> tuple[MetricRow, ...]:
    """The version's metrics with their directions and the values to compare them against."""
    return tuple(
        MetricRow(
            name,
            value,
            direction_of(name, directions) if is_number(value) else None,
            (previous or {}).get(name),
            (production or {}).get(name),
        )
        for name, value in metrics.items()
    )


def recorded_lineage(model: str, metadata: dict[str, Any]) -> CardLineage:
    """The lineage a version's metadata records: inputs and parents -> stages -> the model."""
    inputs = [
        LineageNode(f"file:{item.get('path')}", "file", str(item.get("path")))
        for item in metadata.get("data") or []
        if isinstance(item, dict)
    ]
    inputs += [
        LineageNode(f"model:{parent}", "model", str(parent))
        for parent in metadata.get("parents") or []
    ]
    params = metadata.get("params") or {}
    if params:
        inputs.append(LineageNode("params", "param", f"{len(params)} params"))
    stages = [LineageNode(f"stage:{s}", "stage", str(s)) for s in metadata.get("stages") or []]
    artifact = metadata.get("artifact") or {}
    version = metadata.get("version")
    target = LineageNode(
        "model", "model", f"{model}@v{version} ({artifact.get('path', '?')})" if version else model
    )
    chain = [node.id for node in stages] + [target.id]
    edges = [(node.id, chain[0]) for node in inputs]
    edges += list(itertools.pairwise(chain))
    layers = [tuple(inputs)] if inputs else []
    layers += [(node,) for node in stages]
    layers.append((target,))
    return CardLineage(tuple(layers), tuple(edges))


def drawn_lineage(graph: PipelineGraph) -> CardLineage | None:
    """A pipeline graph (a model's upstream) as the layers and edges a card draws; None when
    it has a cycle."""
    layers = generations(graph)
    if layers is None:
        return None
    return CardLineage(
        tuple(
            tuple(
                LineageNode(node, graph.nodes[node]["type"], _label(graph.nodes[node]))
                for node in sorted(layer)
            )
            for layer in layers
        ),
        tuple(sorted(graph.edges)),
    )


def _label(data: dict[str, Any]) -> str:
    kind = data["type"]
    if kind == "stage":
        return f"stage {data['name']}"
    if kind == "param":
        return f"{data['file']}:{data['key']}"
    if kind == "model":
        return f"{data['name']} ({data['path']})"
    return str(data["path"])


def verdict(row: MetricRow, against: Any) -> str:
    """`better`, `worse`, `same` or `` (no direction or nothing to compare) against a value."""
    if not (is_number(row.value) and is_number(against)) or row.direction is None:
        return ""
    if row.value == against:
        return "same"
    improved = row.value > against if row.direction == "higher" else row.value < against
    return "better" if improved else "worse"


def deprecation_text(card: ModelCard) -> str:
    """What a deprecated card's notice says (`` when it is not deprecated)."""
    if card.version_deprecated:
        why = f": {card.deprecation_reason}" if card.deprecation_reason else ""
        return f"{card.model} v{card.version} is deprecated{why}"
    return f"{card.model} is deprecated" if card.deprecated else ""


def bump_text(card: ModelCard) -> str:
    """What the summary says of the bump: `minor from 0.1.0`, or `first version`."""
    if card.previous_version is None:
        return "first version"
    level = (card.metadata.get("bump") or {}).get("level", "-")
    return f"{level} from {card.previous_version}"
