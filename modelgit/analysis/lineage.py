"""Lineage as a networkx DiGraph built from a revision's pipeline: data flows dep -> stage -> out.

Node ids are typed strings: `stage:<id>`, `file:<path>`, `param:<file>:<key>`, `model:<name>`;
every node carries `type` and what the commit's dvc.lock says of it (md5, size, value, cmd).
"""

from __future__ import annotations

import difflib
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass

import networkx as nx

from modelgit.errors import PipelineError, UnknownTargetError
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


def build(pipe: Pipeline, artifacts: dict[str, Artifact]) -> nx.DiGraph:
    """The whole pipeline of a revision as a graph; edges follow the data (dep -> stage -> out)."""
    graph = nx.DiGraph()
    for stage in pipe.stages.values():
        graph.add_node(
            stage_node(stage.id),
            type="stage",
            name=stage.name,
            dvcfile=stage.dvcfile,
            cmd=stage.cmd,
        )
        for out in stage.outs:
            graph.add_node(
                file_node(out.path), type="file", path=out.path, md5=out.md5, size=out.size,
                produced_by=stage.id, cached=out.path not in stage.uncached,
            )  # fmt: skip
            graph.add_edge(stage_node(stage.id), file_node(out.path))
    for entry in pipe.tracked.values():
        graph.add_node(
            file_node(entry.path), type="file", path=entry.path, md5=entry.md5, size=entry.size,
            produced_by=None, cached=True,
        )  # fmt: skip
    outs = {n[5:] for n, d in graph.nodes(data=True) if d["type"] == "file"}
    folders = {parent for out in outs for parent in _parents(out)}
    for stage in pipe.stages.values():
        for dep in stage.deps:
            for source in _sources(dep.path, outs, folders):
                if source not in graph:
                    graph.add_node(
                        source, type="file", path=source[5:], md5=dep.md5, size=dep.size,
                        produced_by=None, cached=False,
                    )  # fmt: skip
                graph.add_edge(source, stage_node(stage.id))
        for path, values in stage.params.items():
            for key, value in flatten(values or {}).items():
                node = param_node(path, key)
                graph.add_node(node, type="param", file=path, key=key, value=value)
                graph.add_edge(node, stage_node(stage.id))
    for name, artifact in artifacts.items():
        graph.add_node(model_node(name), type="model", name=name, path=artifact.path)
        producer = _producing_node(artifact.path, outs)
        graph.add_edge(producer or file_node(artifact.path), model_node(name))
        if producer is None:
            graph.nodes[file_node(artifact.path)].update(type="file", path=artifact.path)
    return graph


def _producing_node(path: str, outs: set[str]) -> str | None:
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
    holder = _producing_node(dep, outs)
    if holder is not None:
        return [holder]
    if posixpath.normpath(dep) not in folders:
        return [file_node(dep)]
    inside = sorted(file_node(o) for o in outs if o.startswith(dep.rstrip("/") + "/"))
    return inside or [file_node(dep)]


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
    holder = _producing_node(path, {n[5:] for n in graph if n.startswith("file:")})
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
