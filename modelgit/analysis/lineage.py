"""Lineage as a networkx DiGraph built from a revision's pipeline: data flows dep -> stage -> out.

Node ids are typed strings: `stage:<id>`, `file:<path>`, `param:<file>:<key>`, `model:<name>`;
every node carries `type` and what the commit's dvc.lock says of it (md5, size, value, cmd).
The nodes and edges come from `pipeline_graph`, which needs no networkx.
"""

from __future__ import annotations

import difflib
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass

import networkx as nx

from modelgit.analysis.pipeline_graph import file_node, model_node, pipeline_graph, producing_node
from modelgit.errors import PipelineError, UnknownTargetError
from modelgit.sources.pipeline import Artifact, Pipeline


def build(pipe: Pipeline, artifacts: dict[str, Artifact]) -> nx.DiGraph:
    """The whole pipeline of a revision as a graph; edges follow the data (dep -> stage -> out)."""
    parts = pipeline_graph(pipe, artifacts)
    graph = nx.DiGraph()
    graph.add_nodes_from(parts.nodes.items())
    graph.add_edges_from(parts.edges)
    return graph


@dataclass(frozen=True)
class Problems:
    """What is wrong with a pipeline graph without making it unusable."""

    cycles: tuple[tuple[str, ...], ...]
    unproduced: tuple[str, ...]  # dependencies nothing produces, DVC does not track, git lacks


def check(graph: nx.DiGraph, files: Iterable[str]) -> Problems:
    """Cycles, and dependencies on paths that nothing produces and that are not in the tree."""
    present = set(files)
    cycles = tuple(tuple(c) for c in nx.simple_cycles(graph))
    unproduced = []
    for node, data in graph.nodes(data=True):
        if data["type"] != "file" or data.get("produced_by") or graph.in_degree(node):
            continue
        path = data["path"]
        tracked = data.get("md5") is not None and data.get("cached")
        if (
            not tracked
            and path not in present
            and not any(p.startswith(path + "/") for p in present)
        ):
            unproduced.append(path)
    return Problems(cycles, tuple(sorted(unproduced)))


def upstream(graph: nx.DiGraph, model: str) -> nx.DiGraph:
    """The subgraph of everything the model comes from, with the model and its parent models."""
    node = model_node(model)
    if node not in graph:
        raise UnknownTargetError(f"model {model!r} is not declared at this revision")
    ancestors = nx.ancestors(graph, node)
    parent_models = {
        other
        for other, data in graph.nodes(data=True)
        if data["type"] == "model" and any(p in ancestors for p in graph.predecessors(other))
    }
    return graph.subgraph({node, *ancestors, *parent_models}).copy()


def resolve_target(graph: nx.DiGraph, target: str) -> list[str]:
    """The nodes a user's target names: a data path, a stage, or a param (`file:key` or `key`)."""
    nodes = (
        _match_file(graph, target)
        or _match_stage(graph, target)
        or _match_param(graph, target)
        or _match_directory(graph, target)
    )
    if nodes:
        return nodes
    names = [_display(graph, n) for n in graph.nodes if graph.nodes[n]["type"] != "model"]
    close = difflib.get_close_matches(target, names, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise UnknownTargetError(f"{target!r} names no data file, stage or param of the pipeline{hint}")


def _match_file(graph: nx.DiGraph, target: str) -> list[str]:
    path = posixpath.normpath(target)
    if file_node(path) in graph:
        return [file_node(path)]
    holder = producing_node(path, {n[5:] for n in graph if n.startswith("file:")})
    return [holder] if holder is not None else []


def _match_directory(graph: nx.DiGraph, target: str) -> list[str]:
    prefix = f"file:{posixpath.normpath(target)}/"
    return sorted(n for n in graph if n.startswith(prefix))


def _match_stage(graph: nx.DiGraph, target: str) -> list[str]:
    return sorted(
        n
        for n, d in graph.nodes(data=True)
        if d["type"] == "stage" and target in (d["name"], n[6:], d["name"].split("@", 1)[0])
    )


def _match_param(graph: nx.DiGraph, target: str) -> list[str]:
    file, _, key = target.rpartition(":")
    found = []
    for node, data in graph.nodes(data=True):
        if data["type"] != "param" or (file and data["file"] != posixpath.normpath(file)):
            continue
        declared = data["key"]
        if key == declared or declared.startswith(key + ".") or key.startswith(declared + "."):
            found.append(node)
    return sorted(found)


def _display(graph: nx.DiGraph, node: str) -> str:
    data = graph.nodes[node]
    if data["type"] == "param":
        return f"{data['file']}:{data['key']}"
    if data["type"] == "stage":
        return str(data["name"])
    return str(data.get("path", node))


@dataclass(frozen=True)
class Impact:
    """What a change to a target reaches: models and the stages that would rerun."""

    targets: tuple[str, ...]
    models: tuple[str, ...]
    stages: tuple[str, ...]  # in the order DVC would run them


def impact(graph: nx.DiGraph, target: str) -> Impact:
    """Every model and stage downstream of what `target` names."""
    nodes = resolve_target(graph, target)
    reached: set[str] = set()
    for node in nodes:
        reached |= nx.descendants(graph, node)
        if graph.nodes[node]["type"] == "stage":
            reached.add(node)
    order = [n for n in _topological(graph) if n in reached]
    return Impact(
        targets=tuple(_display(graph, n) for n in nodes),
        models=tuple(sorted(graph.nodes[n]["name"] for n in reached if n.startswith("model:"))),
        stages=tuple(graph.nodes[n]["name"] if graph.nodes[n]["dvcfile"] == "dvc.yaml"
                     else n[6:] for n in order if n.startswith("stage:")),
    )  # fmt: skip


def _topological(graph: nx.DiGraph) -> list[str]:
    try:
        return list(nx.topological_sort(graph))
    except nx.NetworkXUnfeasible as exc:
        cycle = " -> ".join(a for a, _ in nx.find_cycle(graph))
        raise PipelineError(f"the pipeline has a cycle: {cycle}") from exc
