"""The plain walk of a pipeline graph (a model's upstream, its layers) gives what networkx gives
for the same nodes and edges, and no layers for a graph with a cycle."""

from __future__ import annotations

import networkx as nx
from hypothesis import given
from hypothesis import strategies as st

from modelgit.analysis import lineage
from modelgit.analysis.pipeline_graph import PipelineGraph, generations, upstream

NODES = [f"file:f{i}" for i in range(4)] + [f"stage:s{i}" for i in range(3)]
MODELS = ["model:a", "model:b"]


@st.composite
def graphs(draw):
    names = NODES + MODELS
    pairs = st.tuples(st.sampled_from(names), st.sampled_from(names)).filter(lambda e: e[0] != e[1])
    edges = tuple(dict.fromkeys(draw(st.lists(pairs, max_size=14))))
    nodes = {n: {"type": n.split(":")[0], "name": n[6:]} for n in names}
    return PipelineGraph(nodes, edges)


def as_networkx(graph: PipelineGraph) -> nx.DiGraph:
    made = nx.DiGraph()
    made.add_nodes_from(graph.nodes.items())
    made.add_edges_from(graph.edges)
    return made


@given(graphs())
def test_upstream_and_layers_agree_with_networkx(graph):
    made = as_networkx(graph)
    for model in ("a", "b"):
        plain = upstream(graph, model)
        expected = lineage.upstream(made, model)
        assert set(plain.nodes) == set(expected.nodes)
        assert sorted(plain.edges) == sorted(expected.edges)
        layers = generations(plain)
        if nx.is_directed_acyclic_graph(expected):
            assert layers is not None
            assert [sorted(layer) for layer in layers] == [
                sorted(layer) for layer in nx.topological_generations(expected)
            ]
        else:
            assert layers is None
