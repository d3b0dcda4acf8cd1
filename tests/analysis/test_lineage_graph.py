"""The lineage graph built from real dvc.yaml files: data-flow edges, DVC's templating and
layouts, and what `check` finds wrong. Reads trees only; nothing is written."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest
import yaml
from conftest import git
from templated_project import templated_template as build_templated

from modelgit.analysis import lineage
from modelgit.sources.pipeline import load, read_artifacts
from modelgit.sources.tree import Tree


@pytest.fixture(scope="session")
def templated_template(tmp_path_factory):
    return build_templated(tmp_path_factory)


def graph_of(tree: Tree):
    pipe = load(tree)
    return pipe, lineage.build(pipe, read_artifacts(pipe.dvcfiles))


def test_edges_follow_data_flow_the_reverse_of_dvcs_graph(project):
    from dvc.repo import Repo

    _, graph = graph_of(Tree(project))
    assert graph.has_edge("file:data/train.csv", "stage:train")
    assert graph.has_edge("stage:train", "file:models/churn.pkl")
    assert graph.has_edge("file:models/churn.pkl", "model:churn")
    assert graph.has_edge("param:params.yaml:train.C", "stage:train")
    with Repo(str(project)) as repo:
        dvc_edges = {(a.name, b.name) for a, b in repo.index.graph.edges}
    assert ("train", "prepare") in dvc_edges  # DVC points from a stage to what it needs
    for consumer, producer in dvc_edges:
        assert nx.has_path(graph, f"stage:{producer}", f"stage:{consumer}")
        assert not nx.has_path(graph, f"stage:{consumer}", f"stage:{producer}")


def test_dvc_templating_and_layout_features(templated_template):
    root = templated_template
    pipe, graph = graph_of(Tree(root, git(root, "rev-parse", "HEAD").strip()))
    names = sorted(s.name for s in pipe.stages.values())
    assert names == sorted([
        "split@0", "split@1", "featurize@small", "featurize@large",
        "grid@0.1-1", "grid@0.1-2", "grid@0.2-1", "grid@0.2-2", "train", "tune",
    ]) or names == sorted([
        "split@a", "split@b", "featurize@small", "featurize@large",
        "grid@0.1-1", "grid@0.1-2", "grid@0.2-1", "grid@0.2-2", "train", "tune",
    ])  # fmt: skip
    train = next(n for n in graph if n.endswith(":train") or n == "stage:train")
    assert graph.has_edge("file:src/run.sh", train)  # wdir applied
    assert graph.has_edge("file:feats/large", train)  # a directory output
    assert graph.has_edge("param:train_params.yaml:optimizer.name", train)  # a whole params file
    assert graph.nodes["param:params.yaml:train.epochs"]["value"] == 3
    assert graph.nodes["file:data/raw"]["md5"].endswith(".dir")  # the .dvc-tracked directory
    assert graph.has_edge("stage:nlp/dvc.yaml:tune", "file:nlp/models/intent.bin")


def test_check_finds_cycles_and_dependencies_nothing_produces(project):
    document = yaml.safe_load((project / "dvc.yaml").read_text())
    document["stages"]["loop_a"] = {"cmd": "true", "deps": ["x.txt"], "outs": ["y.txt"]}
    document["stages"]["loop_b"] = {"cmd": "true", "deps": ["y.txt"], "outs": ["x.txt"]}
    document["stages"]["train"]["deps"].append("data/missing.csv")
    (project / "dvc.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    tree = Tree(project)  # the work tree
    _, graph = graph_of(tree)
    found = lineage.check(graph, tree.files())
    assert any("stage:loop_a" in cycle and "stage:loop_b" in cycle for cycle in found.cycles)
    assert found.unproduced == ("data/missing.csv",)
    committed = Tree(project, git(project, "rev-parse", "HEAD").strip())  # the sound pipeline
    _, sound = graph_of(committed)
    assert lineage.check(sound, committed.files()) == lineage.Problems((), ())


def test_a_simple_foreach_resolves_to_dvcs_own_stages_and_graph(tmp_path, monkeypatch):
    """The generated `foreach` project is resolved without DVC (templates.resolve_simple), and
    gives the stages, paths and stage-to-stage edges DVC's own index has."""
    from dvc.repo import Repo

    from modelgit.sources.templates import resolve_simple

    monkeypatch.syspath_prepend(str(Path(__file__).parents[2] / "bench"))
    from scale_projects import foreach

    root = tmp_path / "foreach"
    foreach(root, 30)
    assert resolve_simple(yaml.safe_load((root / "dvc.yaml").read_text())) is not None
    pipe, graph = graph_of(Tree(root, git(root, "rev-parse", "HEAD").strip()))
    with Repo(str(root)) as repo:
        stages = [s for s in repo.index.stages if getattr(s, "name", None) in pipe.stages]
        dvc_edges = {(a.name, b.name) for a, b in repo.index.graph.edges
                     if a in stages and b in stages}  # fmt: skip
        dvc_paths = {
            s.name: (sorted(d.def_path for d in s.deps), sorted(o.def_path for o in s.outs))
            for s in stages
        }
    ours = {
        sid: (
            sorted([*(d.path for d in stage.deps), *stage.params]),  # DVC's deps: params too
            sorted(o.path for o in stage.outs),
        )
        for sid, stage in pipe.stages.items()
    }
    assert len(ours) == 32 and ours == dvc_paths
    our_edges = {
        (consumer.removeprefix("stage:"), producer.removeprefix("stage:"))
        for producer in graph
        if producer.startswith("stage:")
        for out in graph.successors(producer)
        for consumer in graph.successors(out)
        if consumer.startswith("stage:")
    }
    assert len(our_edges) == 31 and our_edges == dvc_edges
