"""`diff`, `history --metrics`, `list --metrics` and `changelog` on real DVC projects: the numbers
`dvc metrics diff`/`params diff` give, the renderings, and the edges."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from conftest import change_and_repro, commit_all, dvc, git, imports_dvc, set_param
from typer.testing import CliRunner

import modelgit
from modelgit.cli import render
from modelgit.cli.app import app
from modelgit.errors import UnknownVersionError

GOLDEN = Path(__file__).parent.parent / "golden"
runner = CliRunner()


def only(result):
    assert len(result.comparisons) == 1
    return result.comparisons[0]


def dvc_diff(repo: Path, kind: str, *revs: str) -> dict:
    """What `dvc metrics diff --json` / `dvc params diff --json` print (`kind`: metrics or
    params), from the function those commands call, in this process (no CLI start-up); the
    paths are relative to the repository, as the commands print them when run at its root."""
    from dvc.repo import Repo

    a_rev, b_rev = (*revs, "workspace")[:2]  # the commands' own default for the new side
    with Repo(str(repo)) as project:
        return getattr(project, kind).diff(a_rev=a_rev, b_rev=b_rev).get("diff", {})


def assert_same_as_dvc(repo: Path, comparison, a: str, b: str | None) -> None:
    revs = [a] if b is None else [a, b]
    metrics = dvc_diff(repo, "metrics", *revs)["metrics.json"]
    params = dvc_diff(repo, "params", *revs).get("params.yaml", {})
    ours = {m.name: m for m in comparison.metrics if m.verdict != "unchanged"}
    assert set(ours) == set(metrics)
    for name, theirs in metrics.items():
        assert (ours[name].old, ours[name].new) == (theirs["old"], theirs["new"])
        assert_same_difference(ours[name].diff, theirs["diff"])
    changed = {p.name: p for p in comparison.params if p.status != "unchanged"}
    assert set(changed) == set(params)
    for name, theirs in params.items():
        assert (changed[name].old, changed[name].new) == (theirs["old"], theirs["new"])
        if "diff" in theirs:
            assert_same_difference(changed[name].diff, theirs["diff"])


def assert_same_difference(ours: float, theirs: float) -> None:
    """DVC's `new - old` is plain float subtraction (0.7222 - 0.7132 = 0.009000000000000008);
    ours is the same number without the float noise (0.009): equal once DVC's is rounded to
    twelve places, far below the four or six places these metrics are written with."""
    assert ours == round(theirs, 12)


def test_versions_compare_like_dvc_metrics_and_params_diff(registry):
    result = modelgit.diff(registry, "churn@v0.1.0", "churn@v0.2.0")
    comparison = only(result)
    assert_same_as_dvc(registry, comparison, "churn@v0.1.0", "churn@v0.2.0")
    assert [(f.kind, f.status) for f in comparison.files] == [
        ("artifact", "modified"),
        ("data", "unchanged"),
    ]
    assert comparison.stages == () and comparison.features == ()
    assert result.gates == () and not result.failed


def test_workspace_is_the_default_new_side_and_latest_the_old(retrained):
    # `retrained`: churn@v0.2.0 (train.C 0.3), then a committed retraining with train.C 0.25.
    set_param(retrained, "max_iter: 200", "max_iter: 300")  # uncommitted, not reproduced
    comparison = only(modelgit.diff(retrained))
    assert comparison.a.label == "churn@v0.2.0" and comparison.b.label == "workspace"
    assert_same_as_dvc(retrained, comparison, "churn@v0.2.0", None)
    assert {p.name: p.new for p in comparison.params if p.status == "changed"} == {
        "train.C": 0.25,
        "train.max_iter": 300,
    }


def test_stages_and_revisions_as_sides(registry):
    annotated = ["tag", "-a", "-m", "assign", "churn#production#1", "churn@v0.1.0^{commit}"]
    git(registry, *annotated)
    by_stage = only(modelgit.diff(registry, "churn#production", "HEAD"))
    assert by_stage.a.label == "churn#production (churn@v0.1.0)" and by_stage.b.label == "HEAD"
    assert any(p.name == "train.C" and p.status == "changed" for p in by_stage.params)
    same = only(modelgit.diff(registry, "HEAD", "churn@v0.2.0"))
    assert not same.changed
    with pytest.raises(UnknownVersionError, match="not a version"):
        modelgit.diff(registry, "no-such-branch")


def test_a_revision_where_the_model_did_not_exist(registry):
    first = git(registry, "rev-list", "--max-parents=0", "HEAD").strip()
    document = yaml.safe_load((registry / "dvc.yaml").read_text())
    del document["artifacts"]
    git(registry, "checkout", "--quiet", "-b", "old", first)
    (registry / "dvc.yaml").write_text(yaml.safe_dump(document))
    before = commit_all(registry, "No model declared here")
    git(registry, "checkout", "--quiet", "main")
    comparison = only(modelgit.diff(registry, before, "churn@v0.2.0", model="churn"))
    assert not comparison.a.exists and comparison.b.exists
    assert {m.verdict for m in comparison.metrics} == {"added"}
    assert render.headline(comparison) == "churn is new at churn@v0.2.0"
    # What is known there is still compared: the params file v0.2.0's declaration reads.
    assert comparison.a.basis == "files"
    changed = {p.name: (p.old, p.new) for p in comparison.params if p.status == "changed"}
    assert changed == {"train.C": (1.0, 0.3)}


def test_no_version_yet_compares_against_nothing(project):
    comparison = only(modelgit.diff(project))
    assert comparison.a.label == "(no version yet)" and not comparison.a.exists
    assert comparison.files[0].status == "added"


def _rewrite_pipeline(repo: Path) -> None:
    """Nested params, two metrics files, a non-numeric metric, a cached metrics file."""
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["train"]["optimizer"] = {"lr": 0.1, "name": "lbfgs"}
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (repo / "pipeline" / "report.py").write_text(
        "import json, yaml\n"
        "p = yaml.safe_load(open('params.yaml'))['train']\n"
        "m = json.load(open('metrics.json'))\n"
        "json.dump({'quality': {'auc': m['roc_auc'], 'lr': p['optimizer']['lr']},"
        " 'status': 'ok' if p['optimizer']['lr'] < 0.5 else 'slow'}, open('report.json', 'w'))\n"
        "json.dump({'latency_ms': 10 + p['optimizer']['lr'] * 100}, open('cached.json', 'w'))\n"
    )
    document = yaml.safe_load((repo / "dvc.yaml").read_text())
    document["stages"]["report"] = {
        "cmd": "python pipeline/report.py",
        "deps": ["pipeline/report.py", "metrics.json", "models/churn.pkl"],
        "params": ["train.optimizer.lr"],
        "metrics": [{"report.json": {"cache": False}}, "cached.json"],
    }
    document["stages"]["train"]["params"] = ["train"]
    (repo / "dvc.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    dvc(repo, "repro", "--quiet")
    commit_all(repo, "Add a report stage")


@pytest.mark.slow
def test_nested_values_several_files_non_numeric_and_cached_metrics(registry):
    # Two reproductions (the rewritten pipeline, then a changed param): nothing else builds them.
    _rewrite_pipeline(registry)
    base = git(registry, "rev-parse", "HEAD").strip()
    change_and_repro(registry, "lr: 0.1", "lr: 0.7", "faster learning rate")
    comparison = only(modelgit.diff(registry, base, "HEAD"))
    metrics = {m.name: m for m in comparison.metrics}
    assert metrics["quality.lr"].old == 0.1 and metrics["quality.lr"].new == 0.7
    assert metrics["status"].verdict == "changed" and metrics["status"].diff is None
    assert metrics["latency_ms"].verdict == "worse"  # cached in DVC, read from its cache
    assert metrics["latency_ms"].relative == pytest.approx(60 / 20)
    params = {p.name: p for p in comparison.params}
    assert params["train.optimizer.lr"].status == "changed"
    assert params["train.optimizer.name"].status == "unchanged"
    theirs = dvc_diff(registry, "metrics", base, "HEAD")
    assert {"report.json", "cached.json"} <= set(theirs)  # the loop checks both new files
    for file, values in theirs.items():
        for key, entry in values.items():
            name = key if key in metrics else f"{file}:{key}"
            assert (metrics[name].old, metrics[name].new) == (entry["old"], entry["new"])
    # The cached metrics file gone from the cache (and no remote): a clear note, not silence.
    lock = yaml.safe_load((registry / "dvc.lock").read_text())
    md5 = next(o["md5"] for o in lock["stages"]["report"]["outs"] if o["path"] == "cached.json")
    (registry / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]).unlink()
    (registry / "cached.json").unlink()
    comparison = only(modelgit.diff(registry, base, "HEAD"))
    assert any(
        p.startswith("cached.json is a DVC-cached output not present here")
        and "`dvc pull`" in p
        and "no DVC remote is configured" in p
        for p in comparison.problems
    )
    assert "latency_ms" not in {m.name for m in comparison.metrics if m.new is not None}


def test_a_metrics_file_missing_at_one_revision(registry):
    (registry / "metrics.json").unlink()
    comparison = only(modelgit.diff(registry))
    assert {m.verdict for m in comparison.metrics} == {"removed"}
    assert comparison.problems == ("metrics.json is missing at workspace",)


def mask(text: str, repo: Path) -> str:
    """Replace what differs run to run (commit ids) and by library version (pickle md5s)."""
    for tag in ("churn@v0.1.0", "churn@v0.2.0"):
        commit = git(repo, "rev-parse", f"{tag}^{{commit}}").strip()
        text = text.replace(commit[:12], f"<{tag} commit>")
    return re.sub(r"`?\b[0-9a-f]{8,12}\b`?", "<md5>", text)


@pytest.mark.parametrize(("flag", "golden"), [("--md", "diff.md"), (None, "diff.txt")])
def test_golden_renderings(registry, flag, golden):
    args = ["diff", "churn@v0.1.0", "churn@v0.2.0", "-C", str(registry)]
    result = runner.invoke(app, [*args, *([flag] if flag else [])])
    assert result.exit_code == 0, result.output
    assert mask(result.stdout, registry) == (GOLDEN / golden).read_text()


def test_gates_fail_with_exit_1_and_still_print_the_report(registry):
    args = ["diff", "churn@v0.1.0", "churn@v0.2.0", "--md", "-C", str(registry)]
    passed = runner.invoke(app, [*args, "--fail-on", "accuracy<-0.01", "--fail-on", "accuracy<0.7"])
    assert passed.exit_code == 0 and "**All gates passed**" in passed.stdout
    failed = runner.invoke(app, [*args, "--fail-on", "recall<-0.005", "--fail-on", "f1>+5%"])
    assert failed.exit_code == 1
    assert "| `accuracy` |" in failed.stdout and "**1 of 2 gates failed**" in failed.stdout
    assert failed.stderr.startswith(
        "error: 1 gate(s) failed: recall<-0.005 (recall 0.5169 -> 0.5112"
    )
    worse = runner.invoke(app, [*args, "--fail-on", "any-metric-worse"])
    assert worse.exit_code == 1 and "f1 0.5993 -> 0.5987" in worse.stderr
    bad = runner.invoke(app, [*args, "--fail-on", "accuracy drops"])
    assert bad.exit_code == 2 and bad.stderr.startswith(
        "error: gate rule 'accuracy drops' does not parse"
    )


def test_gates_through_the_api(registry):
    result = modelgit.diff(
        registry, "churn@v0.1.0", "churn@v0.2.0", fail_on=["recall<-0.005", "f1>+5%"]
    )
    assert result.failed
    assert [(g.rule, g.failed) for g in result.gates] == [
        ("recall<-0.005", True),
        ("f1>+5%", False),
    ]
    assert not modelgit.diff(registry, "churn@v0.1.0", "churn@v0.2.0", fail_on=[]).failed


def test_json_output_keys(registry):
    result = runner.invoke(
        app, ["diff", "churn@v0.1.0", "churn@v0.2.0", "--json", "-C", str(registry)]
    )
    document = json.loads(result.stdout)
    [comparison] = document["comparisons"]
    assert set(comparison) == {
        "model",
        "a",
        "b",
        "metrics",
        "params",
        "files",
        "stages",
        "features",
        "problems",
    }
    assert comparison["a"] == {
        "label": "churn@v0.1.0",
        "commit": git(registry, "rev-parse", "churn@v0.1.0^{commit}").strip(),
        "exists": True,
        "model": "churn",
        "basis": "declared",
    }
    assert document["failed"] is False


def test_history_metrics_list_metrics_and_changelog(registry):
    rows = modelgit.metric_history(registry)
    assert [r.version for r in rows] == ["0.2.0", "0.1.0"]
    assert rows[0].metrics == json.loads((registry / "metrics.json").read_text())
    assert [r.metrics for r in modelgit.metric_history(registry, names=["f1"])] == [
        {"f1": rows[0].metrics["f1"]},
        {"f1": rows[1].metrics["f1"]},
    ]
    git(registry, "tag", "-a", "-m", "a", "churn#production#1", "churn@v0.1.0^{commit}")
    [summary] = modelgit.list_models(registry, metrics=True)
    assert summary.name == "churn"
    assert summary.metrics == {
        "latest": modelgit.KeyMetric("accuracy", rows[0].metrics["accuracy"]),
        "production": modelgit.KeyMetric("accuracy", rows[1].metrics["accuracy"]),
    }
    assert modelgit.list_models(registry)[0].metrics is None
    entries = modelgit.changelog(registry)
    assert [e.version for e in entries] == ["0.2.0", "0.1.0"]
    assert entries[0].params == (("train.C", 1.0, 0.3),)
    assert entries[1].params == () and entries[0].level == "minor"
    text = runner.invoke(app, ["changelog", "--md", "-C", str(registry)]).stdout
    assert text.startswith("# Changelog\n\n## churn@v0.2.0 — ")
    assert "- param train.C: 1.0 -> 0.3" in text
    table = runner.invoke(app, ["history", "--metrics", "-C", str(registry)]).stdout
    assert "roc_auc" in table and "v0.1.0" in table


@pytest.mark.slow
def test_diff_never_imports_dvc_for_git_tracked_metrics(registry):
    # Two fresh interpreters: the import check needs its own process.
    statement = f"import modelgit; modelgit.diff({str(registry)!r}, 'churn@v0.1.0', 'churn@v0.2.0')"
    assert not imports_dvc(statement)
    # The check can fail: bump asks `dvc status` (then refuses: nothing changed).
    bump = (
        f"import modelgit\ntry:\n    modelgit.bump({str(registry)!r})\n"
        "except modelgit.ModelgitError:\n    pass"
    )
    assert imports_dvc(bump)
