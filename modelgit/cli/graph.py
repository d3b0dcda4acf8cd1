"""Lineage graphs as a terminal tree, Graphviz dot, a Mermaid flowchart, or JSON. Pure."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import networkx as nx

    from modelgit import Lineage


def label(data: dict[str, Any]) -> str:
    """One line describing a node."""
    kind = data["type"]
    if kind == "stage":
        return f"stage {data['name']}: {data['cmd']}"
    if kind == "param":
        return f"param {data['file']}:{data['key']} = {json.dumps(data['value'])}"
    if kind == "model":
        version = f"@v{data['version']}" if data.get("version") else ""
        marker = " DEPRECATED" if data.get("deprecated") else ""
        return f"model {data['name']}{version}{marker} ({data['path']})"
    md5 = f"  md5 {data['md5'][:12]}" if data.get("md5") else ""
    size = f"  {data['size']} B" if data.get("size") is not None else ""
    return f"{data['path']}{md5}{size}"


def tree(graph: nx.DiGraph, root: str) -> str:
    """Everything upstream of `root`, each node under what it feeds, shared parts shown once."""
    lines = [label(graph.nodes[root])]
    seen: set[str] = set()

    def walk(node: str, prefix: str) -> None:
        inputs = sorted(
            graph.predecessors(node), key=lambda n: (graph.nodes[n]["type"] != "param", n)
        )
        for index, child in enumerate(inputs):
            last = index == len(inputs) - 1
            repeat = child in seen and graph.in_degree(child) > 0
            suffix = "  (shown above)" if repeat else ""
            lines.append(f"{prefix}{'└── ' if last else '├── '}{label(graph.nodes[child])}{suffix}")
            if not repeat:
                seen.add(child)
                walk(child, prefix + ("    " if last else "│   "))

    walk(root, "")
    return "\n".join(lines) + "\n"


_DOT_SHAPES = {"stage": "box", "file": "note", "param": "ellipse", "model": "doubleoctagon"}


def dot(graph: nx.DiGraph) -> str:
    """Graphviz source (`dot -Tsvg`); edges point the way data flows."""
    lines = ["digraph lineage {", "  rankdir=LR;"]
    for node, data in sorted(graph.nodes(data=True)):
        text = label(data).replace("\\", "\\\\").replace('"', '\\"')
        lines.append(f'  "{node}" [shape={_DOT_SHAPES[data["type"]]}, label="{text}"];')
    lines += [f'  "{a}" -> "{b}";' for a, b in sorted(graph.edges)]
    return "\n".join([*lines, "}"]) + "\n"


_MERMAID_SHAPES = {
    "stage": ("[", "]"),
    "file": ("[(", ")]"),
    "param": ("([", "])"),
    "model": ("{{", "}}"),
}


def mermaid(graph: nx.DiGraph) -> str:
    """A Mermaid flowchart to paste into Markdown (GitHub renders ```mermaid blocks)."""
    ids = {node: f"n{i}" for i, node in enumerate(sorted(graph.nodes))}
    lines = ["flowchart LR"]
    for node in sorted(graph.nodes):
        data = graph.nodes[node]
        opening, closing = _MERMAID_SHAPES[data["type"]]
        text = label(data).replace('"', "#quot;")
        lines.append(f'    {ids[node]}{opening}"{text}"{closing}')
    lines += [f"    {ids[a]} --> {ids[b]}" for a, b in sorted(graph.edges)]
    return "\n".join(lines) + "\n"


def to_json(graph: nx.DiGraph) -> dict[str, Any]:
    """Node-link JSON: `{nodes: [{id, type, ...}], edges: [{source, target}]}`."""
    return {
        "directed": True,
        "nodes": [{"id": n, **d} for n, d in graph.nodes(data=True)],
        "edges": [{"source": a, "target": b} for a, b in graph.edges],
    }


def lineage_json(found: Lineage) -> str:
    """`lineage --json`: the version, its parents and problems, and the graph."""
    from modelgit.cli import render

    return render.to_json({
        "model": found.model, "version": found.version, "commit": found.commit,
        "deprecated": found.deprecated,
        "parents": list(found.parents), "problems": list(found.problems),
        "graph": to_json(found.graph),
    })  # fmt: skip
