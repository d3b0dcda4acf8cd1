"""`lineage` and `impact` through the public API and the CLI: any revision, parent models across
dvc.yaml files, problems, suggestions and the output formats."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml
from conftest import commit_all, git, imports_dvc
from templated_project import templated_template as build_templated
from typer.testing import CliRunner

import modelgit
from modelgit.cli.app import app
from modelgit.errors import PipelineError, UnknownTargetError

runner = CliRunner()


@pytest.fixture(scope="session")
def templated_template(tmp_path_factory):
    return build_templated(tmp_path_factory)


@pytest.fixture
def templated(templated_template, tmp_path):
    """A copy of the templated project (see tests/templated_project.py): models base and
    nlp:intent, which consumes base, both without a version."""
    target = tmp_path / "templated"
    shutil.copytree(templated_template, target, symlinks=True)
    return target


def test_lineage_at_a_version_from_a_fresh_clone_with_an_empty_cache(registry, tmp_path):
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", str(registry), str(clone))
    assert not (clone / ".dvc" / "cache").exists()
    found = modelgit.lineage_of(clone, "churn@v0.1.0")
    assert (found.model, found.version) == ("churn", "0.1.0")
    assert found.node == "model:churn" and found.node in found.graph
    assert found.graph.nodes["param:params.yaml:train.C"]["value"] == 1.0  # not HEAD's 0.3
    lock = yaml.safe_load(git(registry, "show", "churn@v0.1.0:dvc.lock"))
    model_out = next(o for o in lock["stages"]["train"]["outs"] if o["path"] == "models/churn.pkl")
    assert found.graph.nodes["file:models/churn.pkl"]["md5"] == model_out["md5"]
    assert "stage:evaluate" not in found.graph  # downstream of the model, not upstream
    assert found.problems == ()


def test_parents_lineage_and_impact_across_models(templated):
    assert modelgit.lineage_of(templated, "nlp:intent").parents == ("base",)  # no version yet
    base = modelgit.bump(templated, "minor", "base")
    child = modelgit.bump(templated, "minor", "nlp:intent")
    assert child.metadata["parents"] == ["base@v0.1.0"]
    assert base.metadata["parents"] == []
    found = modelgit.lineage_of(templated, "nlp:intent")
    assert found.parents == ("base@v0.1.0",)
    assert "model:base" in found.graph and "file:data/raw" in found.graph
    reach = modelgit.impact(templated, "data/raw/a.txt")
    assert reach.matched == ("data/raw",)
    assert [(m.name, m.latest) for m in reach.models] == [
        ("base", "0.1.0"),
        ("nlp:intent", "0.1.0"),
    ]
    assert reach.stages[-1] == "nlp/dvc.yaml:tune" and "train" in reach.stages
    by_param = modelgit.impact(templated, "train_params.yaml:lr")
    assert by_param.stages == ("train", "nlp/dvc.yaml:tune")
    by_group = modelgit.impact(templated, "grid")
    assert len([s for s in by_group.stages if s.startswith("grid@")]) == 4
    assert modelgit.impact(templated, "train.epochs").models[0].name == "base"


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
        modelgit.impact(registry, "data/trian.csv")
    result = runner.invoke(app, ["impact", "evalute", "-C", str(registry)])
    assert result.exit_code == 2 and "did you mean evaluate, pipeline/evaluate.py?" in result.stderr


def _break_pipeline(repo, *train_deps: str) -> None:
    """Two stages feeding each other, and `train_deps` added to train's dependencies."""
    document = yaml.safe_load((repo / "dvc.yaml").read_text())
    document["stages"]["loop_a"] = {"cmd": "true", "deps": ["x.txt"], "outs": ["y.txt"]}
    document["stages"]["loop_b"] = {"cmd": "true", "deps": ["y.txt"], "outs": ["x.txt"]}
    document["stages"]["train"]["deps"].extend(train_deps)
    (repo / "dvc.yaml").write_text(yaml.safe_dump(document, sort_keys=False))


def test_a_broken_pipeline_at_head_spares_versions_and_stops_impact(registry):
    _break_pipeline(registry, "data/missing.csv")
    commit_all(registry, "A broken pipeline")
    found = modelgit.lineage_of(registry, "churn@v0.2.0")  # the version's own commit is fine
    assert found.problems == ()
    with pytest.raises(PipelineError, match="the pipeline has a cycle"):
        modelgit.impact(registry, "y.txt")
    result = runner.invoke(app, ["impact", "x.txt", "-C", str(registry)])
    assert result.exit_code == 2 and result.stderr.startswith("error: the pipeline has a cycle")


def test_cycles_and_unproduced_dependencies_upstream_are_reported(project):
    # No version yet: lineage reads the work tree, where train now needs the loop and a file
    # that nothing produces.
    _break_pipeline(project, "data/missing.csv", "y.txt")
    missing = "data/missing.csv is a dependency that nothing produces and the tree lacks"
    problems = modelgit.lineage_of(project, "churn").problems
    assert any(p.startswith("cycle: ") and "stage:loop_a" in p for p in problems)
    assert missing in problems
    result = runner.invoke(app, ["lineage", "-C", str(project)])
    assert result.exit_code == 0 and "stage loop_a" in result.stdout
    assert f"warning: {missing}\n" in result.stderr and "warning: cycle: " in result.stderr


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
    assert set(document) == {
        "model", "version", "commit", "deprecated", "parents", "problems", "graph",
    }  # fmt: skip
    assert document["deprecated"] is False
    types = {n["type"] for n in document["graph"]["nodes"]}
    assert types == {"stage", "file", "param", "model"}
    assert {"source": "file:data/train.csv", "target": "stage:train"} in document["graph"]["edges"]


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz is not installed")
def test_dot_output_renders_with_graphviz(registry):
    dot = runner.invoke(app, ["lineage", "--format", "dot", "-C", str(registry)]).stdout
    subprocess.run(["dot", "-Tsvg"], input=dot, text=True, check=True, capture_output=True)


def test_lineage_never_imports_dvc_for_plain_pipelines(registry):
    assert not imports_dvc(f"import modelgit; modelgit.lineage_of({str(registry)!r}, 'churn')")
