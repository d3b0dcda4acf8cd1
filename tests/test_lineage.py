"""Lineage and impact from real dvc.yaml files, at any revision, with DVC's templating."""

from __future__ import annotations

import json
import shutil
import subprocess

import networkx as nx
import pytest
import yaml
from conftest import commit_all, dvc, git, imports_dvc
from typer.testing import CliRunner

import modelgit
from modelgit.analysis import lineage
from modelgit.cli.app import app
from modelgit.commands import lineage as provenance
from modelgit.errors import PipelineError, UnknownTargetError
from modelgit.sources.pipeline import load, read_artifacts
from modelgit.sources.tree import Tree

runner = CliRunner()


def test_edges_follow_data_flow_the_reverse_of_dvcs_graph(registry):
    from dvc.repo import Repo

    _, graph = provenance.graph_at(Tree(registry))
    assert graph.has_edge("file:data/train.csv", "stage:train")
    assert graph.has_edge("stage:train", "file:models/churn.pkl")
    assert graph.has_edge("file:models/churn.pkl", "model:churn")
    assert graph.has_edge("param:params.yaml:train.C", "stage:train")
    with Repo(str(registry)) as repo:
        dvc_edges = {(a.name, b.name) for a, b in repo.index.graph.edges}
    assert ("train", "prepare") in dvc_edges  # DVC points from a stage to what it needs
    for consumer, producer in dvc_edges:
        assert nx.has_path(graph, f"stage:{producer}", f"stage:{consumer}")
        assert not nx.has_path(graph, f"stage:{consumer}", f"stage:{producer}")


def test_lineage_at_a_version_from_a_fresh_clone_with_an_empty_cache(registry, tmp_path):
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", str(registry), str(clone))
    assert not (clone / ".dvc" / "cache").exists()
    found = provenance.lineage_of(clone, "churn@v0.1.0")
    assert (found.model, found.version) == ("churn", "0.1.0")
    assert found.graph.nodes["param:params.yaml:train.C"]["value"] == 1.0  # not HEAD's 0.3
    lock = yaml.safe_load(git(registry, "show", "churn@v0.1.0:dvc.lock"))
    model_out = next(o for o in lock["stages"]["train"]["outs"] if o["path"] == "models/churn.pkl")
    assert found.graph.nodes["file:models/churn.pkl"]["md5"] == model_out["md5"]
    assert "stage:evaluate" not in found.graph  # downstream of the model, not upstream
    assert found.problems == ()


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def templated(tmp_path):
    """A project using foreach (list and dict), matrix, vars and ${}, wdir, a .dvc-tracked
    directory, directory outputs, whole-file params, and a second dvc.yaml in nlp/ whose model
    consumes the first one's."""
    root = tmp_path / "templated"
    modelgit.init(root)
    _write(root / "data/raw/a.txt", "a\n")
    _write(root / "data/raw/b.txt", "b\n")
    dvc(root, "add", "--quiet", "data/raw")
    _write(root / "params.yaml", yaml.safe_dump({"train": {"epochs": 3}, "parts": ["a", "b"]}))
    _write(root / "train_params.yaml", yaml.safe_dump({"lr": 0.1, "optimizer": {"name": "sgd"}}))
    _write(root / "src/run.sh", 'cat "$@" > /dev/null\n')
    stages = {
        "split": {
            "foreach": "${parts}",
            "do": {"cmd": "mkdir -p parts && cp data/raw/${item}.txt parts/${item}.txt",
                   "deps": ["data/raw"], "outs": ["parts/${item}.txt"]},
        },
        "featurize": {
            "foreach": {"small": {"n": 1}, "large": {"n": 2}},
            "do": {"cmd": "mkdir -p feats/${key} && echo ${item.n} > feats/${key}/f.txt",
                   "deps": ["parts/a.txt", "parts/b.txt"], "outs": ["feats/${key}"]},
        },
        "grid": {
            "matrix": {"lr": [0.1, 0.2], "depth": [1, 2]},
            "cmd": "mkdir -p grid && echo ${item.lr} > grid/${item.lr}-${item.depth}.txt",
            "deps": ["feats/small"], "outs": ["grid/${item.lr}-${item.depth}.txt"],
        },
        "train": {
            "wdir": "src",
            "cmd": "mkdir -p ../models && sh run.sh ../feats/large/f.txt"
                   " && echo ${train.epochs} > ../models/model.bin",
            "deps": ["run.sh", "../feats/large", "../grid/0.1-1.txt"],
            "params": [{"../train_params.yaml": None}, {"../params.yaml": ["train.epochs"]}],
            "outs": ["../models/model.bin"],
        },
    }  # fmt: skip
    _write(root / "dvc.yaml", yaml.safe_dump({
        "stages": stages,
        "artifacts": {"base": {"path": "models/model.bin", "type": "model"}},
    }, sort_keys=False))  # fmt: skip
    _write(root / "nlp/dvc.yaml", yaml.safe_dump({
        "stages": {"tune": {"cmd": "mkdir -p models && cp ../models/model.bin models/intent.bin",
                            "deps": ["../models/model.bin"], "outs": ["models/intent.bin"]}},
        "artifacts": {"intent": {"path": "models/intent.bin", "type": "model"}},
    }, sort_keys=False))  # fmt: skip
    dvc(root, "repro", "--quiet", "--all-pipelines")
    commit_all(root, "A templated pipeline")
    return root


def test_dvc_templating_and_layout_features(templated):
    pipe = load(Tree(templated, git(templated, "rev-parse", "HEAD").strip()))
    names = sorted(s.name for s in pipe.stages.values())
    assert names == sorted([
        "split@0", "split@1", "featurize@small", "featurize@large",
        "grid@0.1-1", "grid@0.1-2", "grid@0.2-1", "grid@0.2-2", "train", "tune",
    ]) or names == sorted([
        "split@a", "split@b", "featurize@small", "featurize@large",
        "grid@0.1-1", "grid@0.1-2", "grid@0.2-1", "grid@0.2-2", "train", "tune",
    ])  # fmt: skip
    graph = lineage.build(pipe, read_artifacts(pipe.dvcfiles))
    train = next(n for n in graph if n.endswith(":train") or n == "stage:train")
    assert graph.has_edge("file:src/run.sh", train)  # wdir applied
    assert graph.has_edge("file:feats/large", train)  # a directory output
    assert graph.has_edge("param:train_params.yaml:optimizer.name", train)  # a whole params file
    assert graph.nodes["param:params.yaml:train.epochs"]["value"] == 3
    assert graph.nodes["file:data/raw"]["md5"].endswith(".dir")  # the .dvc-tracked directory
    assert graph.has_edge("stage:nlp/dvc.yaml:tune", "file:nlp/models/intent.bin")
    assert modelgit.lineage_of(templated, "nlp:intent").parents == ("base",)  # no version yet


def test_parents_lineage_and_impact_across_models(templated):
    base = modelgit.bump(templated, "minor", "base")
    child = modelgit.bump(templated, "minor", "nlp:intent")
    assert child.metadata["parents"] == ["base@v0.1.0"]
    assert base.metadata["parents"] == []
    found = provenance.lineage_of(templated, "nlp:intent")
    assert found.parents == ("base@v0.1.0",)
    assert "model:base" in found.graph and "file:data/raw" in found.graph
    reach = provenance.impact(templated, "data/raw/a.txt")
    assert reach.matched == ("data/raw",)
    assert [(m.name, m.latest) for m in reach.models] == [
        ("base", "0.1.0"),
        ("nlp:intent", "0.1.0"),
    ]
    assert reach.stages[-1] == "nlp/dvc.yaml:tune" and "train" in reach.stages
    by_param = provenance.impact(templated, "train_params.yaml:lr")
    assert by_param.stages == ("train", "nlp/dvc.yaml:tune")
    by_group = provenance.impact(templated, "grid")
    assert len([s for s in by_group.stages if s.startswith("grid@")]) == 4
    assert provenance.impact(templated, "train.epochs").models[0].name == "base"


def test_impact_names_production_versions(registry):
    git(registry, "tag", "-a", "-m", "a", "churn#production#1", "churn@v0.1.0^{commit}")
    result = runner.invoke(app, ["impact", "prepare.seed", "-C", str(registry)])
    assert result.exit_code == 0
    assert "model churn: latest v0.2.0; production v0.1.0" in result.stdout
    assert "stages that would rerun: prepare, train, evaluate" in result.stdout
    document = json.loads(
        runner.invoke(app, ["impact", "data/train.csv", "--json", "-C", str(registry)]).stdout
    )
    assert document["models"] == [
        {"name": "churn", "latest": "0.2.0", "stages": {"production": "0.1.0"}}
    ]


def test_unknown_targets_suggest_the_closest_names(registry):
    with pytest.raises(UnknownTargetError, match=r"did you mean .*data/train\.csv"):
        provenance.impact(registry, "data/trian.csv")
    result = runner.invoke(app, ["impact", "evalute", "-C", str(registry)])
    assert result.exit_code == 2 and "did you mean evaluate, pipeline/evaluate.py?" in result.stderr


def test_cycles_and_unproduced_dependencies_are_reported(registry):
    document = yaml.safe_load((registry / "dvc.yaml").read_text())
    document["stages"]["loop_a"] = {"cmd": "true", "deps": ["x.txt"], "outs": ["y.txt"]}
    document["stages"]["loop_b"] = {"cmd": "true", "deps": ["y.txt"], "outs": ["x.txt"]}
    document["stages"]["train"]["deps"].append("data/missing.csv")
    (registry / "dvc.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    commit_all(registry, "A broken pipeline")
    found = provenance.lineage_of(registry, "churn@v0.2.0")  # the version's own commit is fine
    assert found.problems == ()
    pipe, graph = provenance.graph_at(Tree(registry))
    problems = provenance.problems_of(pipe, graph)
    assert any(p.startswith("cycle: ") and "stage:loop_a" in p for p in problems)
    assert "data/missing.csv is a dependency that nothing produces and the tree lacks" in problems
    with pytest.raises(PipelineError, match="the pipeline has a cycle"):
        provenance.impact(registry, "y.txt")
    result = runner.invoke(app, ["impact", "x.txt", "-C", str(registry)])
    assert result.exit_code == 2 and result.stderr.startswith("error: the pipeline has a cycle")


def test_output_formats(registry):
    args = ["lineage", "churn@v0.1.0", "-C", str(registry)]
    tree = runner.invoke(app, args).stdout
    assert tree.startswith("model churn@v0.1.0 (models/churn.pkl)\n└── models/churn.pkl  md5 ")
    assert "    └── stage train: python pipeline/train.py\n" in tree
    assert "param params.yaml:train.C = 1.0" in tree
    mermaid = runner.invoke(app, [*args, "--format", "mermaid"]).stdout
    assert mermaid.startswith("flowchart LR\n") and " --> " in mermaid
    dot = runner.invoke(app, [*args, "--format", "dot"]).stdout
    assert (
        dot.startswith("digraph lineage {") and '"stage:train" -> "file:models/churn.pkl";' in dot
    )
    document = json.loads(runner.invoke(app, [*args, "--format", "json"]).stdout)
    assert set(document) == {"model", "version", "commit", "parents", "problems", "graph"}
    types = {n["type"] for n in document["graph"]["nodes"]}
    assert types == {"stage", "file", "param", "model"}
    assert {"source": "file:data/train.csv", "target": "stage:train"} in document["graph"]["edges"]


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz is not installed")
def test_dot_output_renders_with_graphviz(registry):
    dot = runner.invoke(app, ["lineage", "--format", "dot", "-C", str(registry)]).stdout
    subprocess.run(["dot", "-Tsvg"], input=dot, text=True, check=True, capture_output=True)


def test_lineage_never_imports_dvc_for_plain_pipelines(registry):
    assert not imports_dvc(f"import modelgit; modelgit.lineage_of({str(registry)!r}, 'churn')")
