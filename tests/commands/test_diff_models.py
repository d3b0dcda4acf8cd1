"""`diff`, gates, `bump auto`, `ci report` and `history` on a small two-model DVC project whose
params live in YAML, TOML and Python files and whose metrics are JSON, one of them DVC-cached:
each case checked against what `dvc metrics diff` / `dvc params diff` say."""

from __future__ import annotations

import json
import re
import shutil
import textwrap
from pathlib import Path

import pytest
import yaml
from conftest import commit_all, copy_project, dvc, git, template_env
from typer.testing import CliRunner

import modelgit
from modelgit.cli import render
from modelgit.cli.app import app

runner = CliRunner()

MAKE = textwrap.dedent(
    """\
    import ast, json, os, sys, tomllib, yaml

    os.makedirs("models", exist_ok=True)
    os.makedirs("eval", exist_ok=True)
    if sys.argv[1] == "clf":
        lr = yaml.safe_load(open("params.yaml"))["train"]["lr"]
        c = tomllib.load(open("hp.toml", "rb"))["clf"]["C"]
        open("models/clf.bin", "w").write(f"clf {lr} {c}")
        json.dump({"accuracy": round(0.9 - lr / 10 + c / 100, 4), "val": {"loss": lr * 3}},
                  open("eval/clf.json", "w"))
        json.dump({"latency_ms": 10 + c * 10}, open("eval/latency.json", "w"))
    else:
        ns = {}
        exec(open("cfg.py").read(), ns)
        open("models/enc.bin", "w").write(f"enc {ns['EPOCHS']} {ns['Enc'].DIM}")
        json.dump({"recall": round(0.5 + ns["EPOCHS"] / 100, 4)}, open("eval/enc.json", "w"))
    """
)
PIPELINE = {
    "stages": {
        "train_clf": {
            "cmd": "python make.py clf",
            "deps": ["make.py"],
            "params": ["train.lr", {"hp.toml": ["clf.C"]}],
            "outs": ["models/clf.bin"],
            "metrics": [{"eval/clf.json": {"cache": False}}, "eval/latency.json"],
        },
        "train_enc": {
            "cmd": "python make.py enc",
            "deps": ["make.py"],
            "params": [{"cfg.py": ["EPOCHS", "Enc"]}],
            "outs": ["models/enc.bin"],
            "metrics": [{"eval/enc.json": {"cache": False}}],
        },
    },
    "artifacts": {
        "clf": {
            "path": "models/clf.bin",
            "type": "model",
            "meta": {"lower_is_better": ["val.loss"], "key_metric": "val.loss"},
        },
        "enc": {"path": "models/enc.bin", "type": "model"},
    },
}


def write_project(root: Path, pipeline: dict | None = None) -> None:
    (root / "make.py").write_text(MAKE)
    (root / "params.yaml").write_text("train:\n  lr: 0.1\n")
    (root / "hp.toml").write_text("[clf]\nC = 0.5\n")
    (root / "cfg.py").write_text("EPOCHS = 3\n\n\nclass Enc:\n    DIM = 8\n")
    (root / "dvc.yaml").write_text(yaml.safe_dump(pipeline or PIPELINE, sort_keys=False))


def edit(repo: Path, name: str, old: str, new: str) -> None:
    text = (repo / name).read_text()
    assert old in text
    (repo / name).write_text(text.replace(old, new, 1))


def repro_commit(repo: Path, message: str) -> str:
    dvc(repo, "repro", "--quiet")
    return commit_all(repo, message)


@pytest.fixture(scope="session")
def two_models_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two models at one commit (`base`, both registered as v0.1.0); then TOML, Python and
    YAML params changed, reproduced and committed, and not registered."""
    with template_env(tmp_path_factory):
        root = tmp_path_factory.mktemp("two-models") / "project"
        root.mkdir()
        git(root, "init", "--quiet")
        dvc(root, "init", "--quiet")
        write_project(root)
        repro_commit(root, "Two models")
        git(root, "tag", "base")
        modelgit.bump(root, "minor", "clf")
        modelgit.bump(root, "minor", "enc")
        edit(root, "hp.toml", "C = 0.5", "C = 0.25")
        edit(root, "cfg.py", "EPOCHS = 3", "EPOCHS = 5")
        edit(root, "params.yaml", "lr: 0.1", "lr: 0.2")
        repro_commit(root, "Retrain both")
    return root


@pytest.fixture
def two_models(two_models_template: Path, tmp_path: Path) -> Path:
    return copy_project(two_models_template, tmp_path)


def dvc_diffs(repo: Path, a: str, b: str) -> tuple[dict, dict]:
    """`dvc metrics diff --json` and `dvc params diff --json`, from DVC's own functions."""
    from dvc.repo import Repo

    with Repo(str(repo)) as project:
        metrics = project.metrics.diff(a_rev=a, b_rev=b).get("diff", {})
        params = project.params.diff(a_rev=a, b_rev=b).get("diff", {})
    return metrics, params


def changed_params(comparison) -> dict[str, tuple]:
    return {p.name: (p.old, p.new) for p in comparison.params if p.status != "unchanged"}


def metric_values(comparison) -> dict[str, tuple]:
    return {m.name: (m.old, m.new) for m in comparison.metrics}


# Case 10: params files by extension, as DVC parses them.


def test_toml_and_python_params_diff_like_dvc_params_diff(two_models):
    result = modelgit.diff(two_models, "base", "HEAD")
    by_model = {c.model: c for c in result.comparisons}
    theirs_metrics, theirs_params = dvc_diffs(two_models, "base", "HEAD")
    assert changed_params(by_model["clf"]) == {
        "hp.toml:clf.C": (0.5, 0.25),
        "train.lr": (0.1, 0.2),
    }
    assert changed_params(by_model["enc"]) == {"cfg.py:EPOCHS": (3, 5)}
    assert theirs_params["hp.toml"]["clf.C"] == {"old": 0.5, "new": 0.25, "diff": -0.25}
    assert theirs_params["cfg.py"]["EPOCHS"] == {"old": 3, "new": 5, "diff": 2}
    assert theirs_params["params.yaml"]["train.lr"]["new"] == 0.2
    unchanged = {p.name: p.new for p in by_model["enc"].params if p.status == "unchanged"}
    assert unchanged == {"cfg.py:Enc.DIM": 8}  # a class of constants, as DVC reads `.py`
    for file, values in theirs_metrics.items():
        model = "enc" if file == "eval/enc.json" else "clf"
        for key, entry in values.items():
            assert metric_values(by_model[model])[key] == (entry["old"], entry["new"])


def test_bump_auto_and_ci_report_read_toml_and_python_params(two_models):
    clf = modelgit.bump(two_models, modelgit.BumpRequest("auto", "clf", explain=True))
    assert clf.level == "minor"
    assert "params changed: hp.toml:clf.C 0.5 -> 0.25" in clf.reasons
    enc = modelgit.bump(two_models, modelgit.BumpRequest("auto", "enc", explain=True))
    assert "params changed: cfg.py:EPOCHS 3 -> 5" in enc.reasons
    report = modelgit.ci_report(two_models, base="base")
    assert [m.model for m in report.models] == ["clf", "enc"]
    assert changed_params(report.models[1].against_base) == {"cfg.py:EPOCHS": (3, 5)}
    created = modelgit.bump(two_models, "auto", "enc")
    document = yaml.safe_load(created.message.split("\n\n", 1)[1])
    assert document["params"] == {"cfg.py:EPOCHS": 5, "cfg.py:Enc.DIM": 8}


# Case 8: two different models, each compared as itself.


def test_diff_of_two_models_compares_each_ones_own_facts(two_models):
    [comparison] = modelgit.diff(two_models, "clf@v0.1.0", "enc@v0.1.0").comparisons
    assert comparison.model == "clf vs enc" and comparison.models == ("clf", "enc")
    assert (comparison.a.model, comparison.b.model) == ("clf", "enc")
    metrics = metric_values(comparison)
    assert metrics["accuracy"][1] is None and metrics["recall"][0] is None
    assert metrics["recall"][1] == 0.53  # enc's own metrics at base (EPOCHS 3)
    [artifact] = [f for f in comparison.files if f.kind == "artifact"]
    assert artifact.path == "models/clf.bin -> models/enc.bin" and artifact.status == "modified"
    assert comparison.changed
    out = runner.invoke(app, ["diff", "clf@v0.1.0", "enc@v0.1.0", "-C", str(two_models)])
    assert out.exit_code == 0, out.output
    assert "clf vs enc: clf@v0.1.0" in out.stdout and "no changes" not in out.stdout


# Case 9: gates apply to the models that have the metric; MODEL: scopes; unknown is exit 2.


def test_gates_apply_to_models_with_the_metric_and_scope_by_model(two_models):
    result = modelgit.diff(two_models, "base", "HEAD", fail_on=["val.loss>0.5"])
    assert [(g.model, g.failed) for g in result.gates] == [("clf", True)]  # 0.3 -> 0.6
    assert result.gates[0].detail == "val.loss = 0.6"  # 0.2 * 3 = 0.6000000000000001 in the file
    scoped = modelgit.diff(
        two_models, "base", "HEAD", fail_on=["clf:eval/clf.json:val.loss>+50%", "enc:recall<0.5"]
    )
    assert [(g.rule, g.model, g.failed) for g in scoped.gates] == [
        ("clf:eval/clf.json:val.loss>+50%", "clf", True),
        ("enc:recall<0.5", "enc", False),
    ]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("acuracy<0.9", "no compared model has a metric 'acuracy' (did you mean accuracy?)"),
        ("enc:val.loss>0.5", "model enc has no metric 'val.loss'"),
        ("nomodel:recall<0.5", "'nomodel' is neither a compared model (compared: clf, enc)"),
    ],
)
def test_a_gate_matching_no_model_is_an_input_error(two_models, rule, message):
    out = runner.invoke(app, ["diff", "base", "HEAD", "--fail-on", rule, "-C", str(two_models)])
    assert out.exit_code == 2, out.output
    assert message in out.stderr and "Traceback" not in out.output


def test_ci_report_gates_judge_changed_models_and_refuse_unknown_metrics(two_models):
    edit(two_models, "cfg.py", "EPOCHS = 5", "EPOCHS = 7")
    repro_commit(two_models, "Only the encoder changes")
    report = modelgit.ci_report(two_models, base="HEAD~1", fail_on=["val.loss>0.5", "recall<0"])
    assert [m.model for m in report.models] == ["enc"]
    assert [(g.rule, g.model) for g in report.gates] == [("recall<0", "enc")]
    from modelgit.errors import InputError

    with pytest.raises(InputError, match="did you mean recall"):
        modelgit.ci_report(two_models, base="HEAD~1", fail_on=["recal<0"])


def test_history_metric_misspelt_is_an_input_error(two_models):
    out = runner.invoke(
        app, ["history", "clf", "--metrics", "--metric", "acuracy", "-C", str(two_models)]
    )
    assert out.exit_code == 2
    assert "no version of clf records a metric 'acuracy' (did you mean accuracy?)" in out.stderr
    rows = modelgit.metric_history(two_models, "clf", ["accuracy"])
    assert list(rows[0].metrics) == ["accuracy"]


# Case 11: metrics kept in the DVC cache.


def _drop_cached_latency(repo: Path) -> None:
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    outs = lock["stages"]["train_clf"]["outs"]
    md5 = next(o["md5"] for o in outs if o["path"] == "eval/latency.json")
    shutil.rmtree(repo / ".dvc" / "cache")
    (repo / "eval" / "latency.json").unlink()
    assert not any(md5 in str(p) for p in (repo / ".dvc").rglob("*"))


def test_cached_metrics_absent_here_say_dvc_pull_and_come_from_the_remote(two_models, tmp_path):
    storage = tmp_path / "storage"
    dvc(two_models, "remote", "add", "-d", "storage", str(storage))
    dvc(two_models, "push", "--quiet")  # HEAD's outputs only: base's are in no remote
    commit_all(two_models, "A remote")
    _drop_cached_latency(two_models)
    [clf] = modelgit.diff(two_models, "base", "HEAD", model="clf").comparisons
    assert metric_values(clf)["latency_ms"] == (None, 12.5)  # HEAD's, read from the remote
    base = git(two_models, "rev-parse", "base").strip()[:12]
    assert clf.problems == (
        f"eval/latency.json is a DVC-cached output not present here (at {base}); `dvc pull` it; "
        f"the DVC remote {storage} lacks it too: `dvc push` it where it was made",
    )


def test_unreadable_declared_metrics_are_never_no_metrics(two_models):
    pipeline = yaml.safe_load((two_models / "dvc.yaml").read_text())
    pipeline["stages"]["train_clf"]["metrics"] = ["eval/latency.json"]  # only the cached one
    (two_models / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    commit_all(two_models, "Only cached metrics")  # dvc.lock still records latency.json
    _drop_cached_latency(two_models)
    [clf] = modelgit.diff(two_models, "HEAD", "workspace", model="clf").comparisons
    assert render.headline(clf) == "metrics not compared: see the notes below"
    text = render.text(clf)
    assert "no metrics" not in text
    assert "note: eval/latency.json is a DVC-cached output not present here" in text
    assert "(no DVC remote is configured to read it from)" in text


# Case 13: one number formatter; differences without float noise.


def test_bump_summary_changelog_and_diff_print_numbers_alike(two_models):
    # val.loss is written as 0.1 * 3 = 0.30000000000000004 (lr 0.1), then 0.6000000000000001:
    # every command prints 0.3 and 0.6, through the one formatter.
    written = json.loads(git(two_models, "show", "base:eval/clf.json"))["val"]["loss"]
    assert written == 0.1 * 3 == 0.30000000000000004
    first = git(two_models, "for-each-ref", "--format=%(contents:subject)", "refs/tags/clf@v0.1.0")
    assert first.strip() == "clf v0.1.0: minor bump, val.loss 0.3"
    second = modelgit.bump(two_models, "minor", "clf")
    assert second.message.splitlines()[0] == "clf v0.2.0: minor bump, val.loss 0.3 -> 0.6"
    changelog = render.changelog(modelgit.changelog(two_models, "clf"))
    assert "accuracy 0.895 -> 0.8825 (-0.0125)" in changelog  # float: -0.012500000000000067
    assert "val.loss 0.3 -> 0.6 (+0.3)" in changelog
    result = modelgit.diff(two_models, "clf@v0.1.0", "clf@v0.2.0")
    [clf] = result.comparisons
    accuracy = next(m for m in clf.metrics if m.name == "accuracy")
    assert accuracy.diff == -0.0125 and accuracy.relative == pytest.approx(-0.0125 / 0.895)
    assert re.search(r"accuracy\s+0\.895\s+0\.8825\s+-0\.0125 \(-1\.4%\)", render.text(clf))
    assert re.search(r"val\.loss\s+0\.3\s+0\.6\s+\+0\.3 \(\+100\.0%\)", render.text(clf))
    assert render.headline(clf).startswith("val.loss 0.3 -> 0.6 (+100.0%)")
    text = render.diff_json(result)
    assert '"diff": -0.0125,' in text and "0.30000000000000004" not in text
    history = runner.invoke(app, ["history", "clf", "--metrics", "-C", str(two_models)])
    assert re.search(r"v0\.2\.0 .* 0\.6\b", history.stdout)
    assert "0.6000000000000001" not in history.stdout


# Case 16: GTO's older artifacts.yaml declares the models.

GTO_INDEX = {
    "clf": {"type": "model", "path": "models/clf.bin", "virtual": False, "labels": ["tabular"]},
    "enc": {"type": "model", "path": "models/enc.bin", "description": "encoder"},
    "notes": {"type": "doc"},  # virtual, no path: nothing to version
}


def test_gto_artifacts_yaml_declares_models(two_models):
    from gto.index import Index

    pipeline = {k: v for k, v in PIPELINE.items() if k != "artifacts"}
    (two_models / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    (two_models / "artifacts.yaml").write_text(yaml.safe_dump(GTO_INDEX))
    assert set(Index.read_state(str(two_models / "artifacts.yaml"))) == set(GTO_INDEX)
    commit_all(two_models, "Declare the models as GTO 0.x did")
    git(two_models, "tag", "-a", "-m", "Registering artifact clf version v0.0.1", "clf@v0.0.1")
    edit(two_models, "params.yaml", "lr: 0.2", "lr: 0.3")
    repro_commit(two_models, "Retrain clf")
    git(two_models, "tag", "-a", "-m", "Registering artifact clf version v0.0.2", "clf@v0.0.2")
    [clf] = modelgit.diff(two_models, "clf@v0.0.1", "clf@v0.0.2").comparisons
    assert clf.a.exists and clf.b.exists
    assert changed_params(clf) == {"train.lr": (0.2, 0.3)}
    assert metric_values(clf)["val.loss"] == (0.6000000000000001, 0.8999999999999999)
    info = modelgit.show(two_models, "clf@v0.0.2")
    assert info.metadata["artifact"]["path"] == "models/clf.bin"
    assert info.metadata["params"]["train.lr"] == 0.3
    out = runner.invoke(app, ["lineage", "clf@v0.0.2", "--format", "json", "-C", str(two_models)])
    assert out.exit_code == 0, out.output
    nodes = json.loads(out.stdout)["graph"]["nodes"]
    assert {n["name"] for n in nodes if n["type"] == "stage"} == {"train_clf"}
    # dvc.yaml wins for a name both declare.
    pipeline["artifacts"] = {"clf": {"path": "models/clf.bin", "desc": "from dvc.yaml"}}
    (two_models / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    commit_all(two_models, "Declare clf in dvc.yaml too")
    from modelgit.registry.lookup import declared

    models = declared(two_models)
    assert sorted(models) == ["clf", "enc"]
    assert models["clf"].desc == "from dvc.yaml" and models["enc"].desc == "encoder"


# Case 17: whatever is known about the model at each side is compared.


def test_metrics_and_params_compared_where_the_declaration_is_missing(two_models):
    undeclared = {k: v for k, v in PIPELINE.items() if k != "artifacts"}
    git(two_models, "checkout", "--quiet", "-b", "old", "base")
    (two_models / "dvc.yaml").write_text(yaml.safe_dump(undeclared, sort_keys=False))
    before = commit_all(two_models, "No declaration")
    git(two_models, "checkout", "--quiet", "main")
    [clf] = modelgit.diff(two_models, before, "HEAD", model="clf").comparisons
    theirs_metrics, theirs_params = dvc_diffs(two_models, before, "HEAD")
    assert clf.a.basis == "borrowed" and clf.a.exists and clf.changed
    assert changed_params(clf) == {"hp.toml:clf.C": (0.5, 0.25), "train.lr": (0.1, 0.2)}
    assert metric_values(clf)["accuracy"] == (
        theirs_metrics["eval/clf.json"]["accuracy"]["old"],
        theirs_metrics["eval/clf.json"]["accuracy"]["new"],
    )
    assert theirs_params["hp.toml"]["clf.C"]["old"] == 0.5
    assert render.headline(clf).startswith("val.loss 0.3 -> 0.6")
    assert "clf is not declared at" in render.text(clf)


def test_a_model_declared_at_neither_side_compares_the_projects_files(two_models):
    undeclared = {k: v for k, v in PIPELINE.items() if k != "artifacts"}
    (two_models / "dvc.yaml").write_text(yaml.safe_dump(undeclared, sort_keys=False))
    commit_all(two_models, "Drop the declarations")
    git(two_models, "tag", "-a", "-m", "GTO registration", "m@v2.0.0")
    edit(two_models, "hp.toml", "C = 0.25", "C = 0.125")
    repro_commit(two_models, "Retrain")
    git(two_models, "tag", "-a", "-m", "GTO registration", "m@v2.0.3#4")  # GTO's counter form
    [m] = modelgit.diff(two_models, "m@v2.0.0", "m@v2.0.3#4").comparisons
    theirs_metrics, theirs_params = dvc_diffs(two_models, "m@v2.0.0", "m@v2.0.3#4")
    assert changed_params(m) == {"hp.toml:clf.C": (0.25, 0.125)}
    assert theirs_params == {"hp.toml": {"clf.C": {"old": 0.25, "new": 0.125, "diff": -0.125}}}
    ours = {m.name for m in m.metrics if m.verdict != "unchanged"}
    assert ours == {key for values in theirs_metrics.values() for key in values}
    text = render.text(m)
    assert "no changes" not in text and "m is new at" not in text
    assert "declared at neither side" in text
