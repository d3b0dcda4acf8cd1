"""A revision's pipeline as plain nodes and edges (dep -> stage -> out), without networkx.

`lineage.build` makes its networkx graph from these; what only needs a model's upstream in
layers (a card, the site's lineage pages) walks them directly and spares networkx's import.
Node ids are typed strings: `stage:<id>`, `file:<path>`, `param:<file>:<key>`, `model:<name>`.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any

from modelgit.errors import UnknownTargetError
from modelgit.sources.pipeline import Artifact, Pipeline, flatten


def stage_node(stage_id: str) -> str:
    """The node id of a stage."""
    return f"stage:{stage_id}"


def file_node(path: str) -> str:
    """The node id of a file or directory."""
    return f"file:{path}"


def param_node(path: str, key: str) -> str:
    """The node id of one (flattened) param of a params file."""
    return f"param:{path}:{key}"


def model_node(name: str) -> str:
    """The node id of a declared model."""
    return f"model:{name}"


@dataclass(frozen=True)
class PipelineGraph:
    """Nodes (id -> what the commit's dvc.lock says of it, with its `type`) in the order they
    were added, and the edges between them (data flows from the first to the second)."""

    nodes: dict[str, dict[str, Any]]
    edges: tuple[tuple[str, str], ...]


class _Builder:
    """Adds nodes and edges as networkx does: adding a node again updates its attributes, and
    an edge adds the nodes it joins."""

    def __init__(self) -> None:
        self.nodes: dict[str, dict[str, Any]] = {}
        self.edges: dict[tuple[str, str], None] = {}

    def node(self, node: str, **attributes: Any) -> None:
        self.nodes.setdefault(node, {}).update(attributes)

    def edge(self, source: str, target: str) -> None:
        self.nodes.setdefault(source, {})
        self.nodes.setdefault(target, {})
        self.edges[(source, target)] = None


def pipeline_graph(pipe: Pipeline, artifacts: dict[str, Artifact]) -> PipelineGraph:
    """The whole pipeline of a revision; edges follow the data (dep -> stage -> out)."""
    graph = _Builder()
    for stage in pipe.stages.values():
        graph.node(
            stage_node(stage.id), type="stage", name=stage.name, dvcfile=stage.dvcfile,
            cmd=stage.cmd,
        )  # fmt: skip
        for out in stage.outs:
            graph.node(
                file_node(out.path), type="file", path=out.path, md5=out.md5, size=out.size,
                produced_by=stage.id, cached=out.path not in stage.uncached,
            )  # fmt: skip
            graph.edge(stage_node(stage.id), file_node(out.path))
    for entry in pipe.tracked.values():
        graph.node(
            file_node(entry.path), type="file", path=entry.path, md5=entry.md5, size=entry.size,
            produced_by=None, cached=True,
        )  # fmt: skip
    outs = {n[5:] for n, d in graph.nodes.items() if d["type"] == "file"}
    folders = {parent for out in outs for parent in _parents(out)}
    for stage in pipe.stages.values():
        for dep in stage.deps:
            for source in _sources(dep.path, outs, folders):
                if source not in graph.nodes:
                    graph.node(
                        source, type="file", path=source[5:], md5=dep.md5, size=dep.size,
                        produced_by=None, cached=False,
                    )  # fmt: skip
                graph.edge(source, stage_node(stage.id))
        for path, values in stage.params.items():
            for key, value in flatten(values or {}).items():
                node = param_node(path, key)
                graph.node(node, type="param", file=path, key=key, value=value)
                graph.edge(node, stage_node(stage.id))
    for name, artifact in artifacts.items():
        graph.node(model_node(name), type="model", name=name, path=artifact.path)
        producer = producing_node(artifact.path, outs)
        graph.edge(producer or file_node(artifact.path), model_node(name))
        if producer is None:
            graph.nodes[file_node(artifact.path)].update(type="file", path=artifact.path)
    return PipelineGraph(graph.nodes, tuple(graph.edges))


def producing_node(path: str, outs: set[str]) -> str | None:
    """The node of the output (or output directory) that holds `path`, if one does."""
    current = posixpath.normpath(path)
    while current and current != ".":
        if current in outs:
            return file_node(current)
        current = posixpath.dirname(current)
    return None


def _parents(path: str) -> list[str]:
    """The folders above a path (`a/b` and `a` for `a/b/c.csv`)."""
    parents = []
    current = posixpath.dirname(posixpath.normpath(path))
    while current and current != ".":
        parents.append(current)
        current = posixpath.dirname(current)
    return parents


def _sources(dep: str, outs: set[str], folders: set[str]) -> list[str]:
    """The nodes a dependency reads: the output (or output directory) holding it, the outputs
    inside a dependency directory, or the dependency itself (raw data, code).

    `folders` (every folder holding an output) spares scanning every output for the code and
    raw-data dependencies of each stage, which made building a 1,000-stage graph quadratic.
    """
    holder = producing_node(dep, outs)
    if holder is not None:
        return [holder]
    if posixpath.normpath(dep) not in folders:
        return [file_node(dep)]
    inside = sorted(file_node(o) for o in outs if o.startswith(dep.rstrip("/") + "/"))
    return inside or [file_node(dep)]


def upstream(graph: PipelineGraph, model: str) -> PipelineGraph:
    """Everything the model comes from, with the model and its parent models (the models fed
    by anything upstream of it), and every edge among them."""
    node = model_node(model)
    if node not in graph.nodes:
        raise UnknownTargetError(f"model {model!r} is not declared at this revision")
    predecessors: dict[str, list[str]] = {}
    for source, target in graph.edges:
        predecessors.setdefault(target, []).append(source)
    ancestors: set[str] = set()
    waiting = [node]
    while waiting:
        for source in predecessors.get(waiting.pop(), ()):
            if source not in ancestors:
                ancestors.add(source)
                waiting.append(source)
    ancestors.discard(node)
    parent_models = {
        other
        for other, data in graph.nodes.items()
        if data.get("type") == "model" and any(p in ancestors for p in predecessors.get(other, ()))
    }
    kept = {node, *ancestors, *parent_models}
    return PipelineGraph(
        {n: data for n, data in graph.nodes.items() if n in kept},
        tuple((a, b) for a, b in graph.edges if a in kept and b in kept),
    )


def generations(graph: PipelineGraph) -> list[list[str]] | None:
    """The nodes in layers, sources first (each node one layer after its last input), or None
    when the graph has a cycle."""
    waiting_on = dict.fromkeys(graph.nodes, 0)
    successors: dict[str, list[str]] = {}
    for source, target in graph.edges:
        waiting_on[target] += 1
        successors.setdefault(source, []).append(target)
    layer = [node for node, count in waiting_on.items() if count == 0]
    layers = []
    placed = 0
    while layer:
        layers.append(layer)
        placed += len(layer)
        following = []
        for node in layer:
            for target in successors.get(node, ()):
                waiting_on[target] -= 1
                if waiting_on[target] == 0:
                    following.append(target)
        layer = following
    return layers if placed == len(graph.nodes) else None
