"""CI: workflows that pass real linters, the release step, the PR report, and a push hook."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys

import pytest
import yaml
from conftest import BIN, commit_all, dvc, git, tag_message, template_env
from typer.testing import CliRunner

import modelgit
from modelgit.cli.app import app
from modelgit.errors import InvalidNameError, ManifestError

runner = CliRunner()


def tool(name: str, *args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([os.path.join(BIN, name), *args], cwd=cwd, capture_output=True,
                          text=True, check=False)  # fmt: skip


def test_github_workflows_validate_and_pass_zizmor(registry):
    result = modelgit.ci_init(registry, "github")
    assert result.written == (
        ".github/workflows/modelgit-release.yml",
        ".github/workflows/modelgit-report.yml",
    )
    files = [str(registry / path) for path in result.written]
    checked = tool("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *files)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    audit = tool("zizmor", "--offline", "--format", "json", "--min-severity", "medium", *files)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert json.loads(audit.stdout) == []
    release = yaml.safe_load((registry / result.written[0]).read_text())
    assert release[True]["push"]["tags"] == ["*@v[0-9]*"]  # PyYAML reads `on:` as True
    steps = release["jobs"]["release"]["steps"]
    assert all(
        "@" in s["uses"] and len(s["uses"].split("@")[1]) == 40 for s in steps if "uses" in s
    )
    assert steps[0]["with"] == {"fetch-depth": 0, "persist-credentials": False}
    assert any('modelgit ci release "$TAG"' in s.get("run", "") for s in steps)
    assert all("${{" not in s.get("run", "") for s in steps)


def test_gitlab_fragment_validates_and_is_included(registry):
    result = modelgit.ci_init(registry, "gitlab")
    assert result.written == (".gitlab/modelgit.gitlab-ci.yml", ".gitlab-ci.yml")
    files = [str(registry / path) for path in result.written]
    checked = tool("check-jsonschema", "--builtin-schema", "vendor.gitlab-ci", *files)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_existing_workflows_are_never_overwritten_without_force(registry):
    modelgit.ci_init(registry, "github")
    target = registry / ".github/workflows/modelgit-release.yml"
    target.write_text("# mine\n")
    with pytest.raises(ManifestError, match="exists; pass --force"):
        modelgit.ci_init(registry, "github")
    assert target.read_text() == "# mine\n"
    result = runner.invoke(app, ["ci", "init", "--force", "-C", str(registry)])
    assert result.exit_code == 0 and "modelgit ci release" in target.read_text()


def test_release_verifies_renders_and_summarises(registry):
    modelgit.promote(registry, "churn", "0.1.0", "production")
    result = modelgit.ci_release(registry, "churn@v0.2.0", registry / "checked")
    assert result.verified and result.problems == ()
    assert sorted(os.path.basename(m) for m in result.manifests) == [
        "deployments.yaml",
        "service.yaml",
    ]
    assert (result.previous.tag, result.production.tag) == ("churn@v0.1.0", "churn@v0.1.0")
    assert not (registry / "checked" / "summary.md").exists()  # the API returns data only
    # The command writes the summary (and prints it, for a CI job's log).
    out = registry / "release"
    released = runner.invoke(app, ["ci", "release", "churn@v0.2.0", "--out", str(out),
                                   "-C", str(registry)])  # fmt: skip
    assert released.exit_code == 0, released.output
    summary = (out / "summary.md").read_text()
    assert summary.startswith("### churn@v0.2.0 ✅ verified")
    assert "#### Metrics vs previous (churn@v0.1.0)" in summary
    assert "#### Metrics vs production (churn@v0.1.0)" in summary
    assert released.stdout == f"{summary}summary: {out / 'summary.md'}\n"
    assert sorted(p.name for p in (out / "manifests").iterdir()) == [
        "deployments.yaml",
        "service.yaml",
    ]
    with pytest.raises(InvalidNameError, match="not a version tag"):
        modelgit.ci_release(registry, "churn#production#1")


def test_report_lists_changed_models_against_base_and_production(retrained):
    # `retrained`: HEAD retrains churn@v0.2.0's model with train.C 0.25 instead of 0.3.
    modelgit.promote(retrained, "churn", "0.2.0", "production")
    git(retrained, "branch", "base", "churn@v0.2.0^{commit}")
    out = retrained / "report.md"
    args = ["--base", "base", "--out", str(out), "--fail-on", "any-metric-worse"]
    result = runner.invoke(app, ["ci", "report", *args, "-C", str(retrained)])
    text = out.read_text()
    assert text.startswith("<!-- modelgit report -->\n## modelgit report")
    assert "| `train.C` | 0.3 | 0.25 | changed |" in text
    assert "<details><summary>Against production</summary>" in text
    [change] = modelgit.diff(retrained, "base", "HEAD").comparisons
    worse = any(m.verdict == "worse" for m in change.metrics)
    assert result.exit_code == (1 if worse else 0)
    report = modelgit.ci_report(retrained, "base", ["any-metric-worse"])
    assert [m.model for m in report.models] == ["churn"] and report.failed == worse
    assert report.models[0].against_production is not None
    unchanged = modelgit.ci_report(retrained, "HEAD")
    assert unchanged.models == () and not unchanged.failed
    printed = runner.invoke(app, ["ci", "report", "--base", "HEAD", "-C", str(retrained)])
    assert printed.exit_code == 0 and "No model changes" in printed.stdout


HOOK = """#!/bin/sh
# The CI stand-in: run the release step for every pushed version tag.
unset GIT_DIR GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES
origin=$(pwd)
while read old new ref; do
  case "$ref" in refs/tags/*@v*) ;; *) continue ;; esac
  tag=${ref#refs/tags/}
  name=$(echo "$tag" | tr '@=' '--')
  work=$(mktemp -d)
  git clone --quiet "$origin" "$work/repo"
  (cd "$work/repo" && dvc remote add --local -d storage "$REMOTE" >/dev/null \\
    && "$PYTHON" -m modelgit ci release "$tag" --out release) > "$OUT/$name.log" 2>&1
  echo $? > "$OUT/$name.rc"
  cp -r "$work/repo/release" "$OUT/$name" 2>/dev/null
done
"""


@pytest.fixture(scope="session")
def pushed_remote(registry_template, tmp_path_factory):
    """A DVC remote holding what the registry's HEAD (churn@v0.2.0) needs: `dvc push` once."""
    with template_env(tmp_path_factory):
        scratch = tmp_path_factory.mktemp("pushed")
        work, remote = scratch / "project", scratch / "dvc-remote"
        shutil.copytree(registry_template, work, symlinks=True)
        dvc(work, "remote", "add", "--local", "-d", "storage", str(remote))
        dvc(work, "push", "--quiet")
    return remote


def use_remote(repo, remote) -> None:
    """`dvc remote add --local -d storage <remote>`, through DVC's config API (no start-up)."""
    from dvc.repo import Repo

    with Repo(str(repo)) as project, project.config.edit("local") as config:
        config["remote"]["storage"] = {"url": str(remote)}
        config["core"]["remote"] = "storage"


@pytest.fixture
def pushed(registry, pushed_remote, tmp_path, monkeypatch):
    """The registry pushed to its DVC remote; an origin whose post-receive hook releases pushed
    version tags from a fresh clone (an empty DVC cache: it reads the remote)."""
    origin, remote, out = tmp_path / "origin.git", tmp_path / "dvc-remote", tmp_path / "released"
    out.mkdir()
    shutil.copytree(pushed_remote, remote)
    git(tmp_path, "init", "--quiet", "--bare", str(origin))
    hook = origin / "hooks" / "post-receive"
    hook.write_text(HOOK)
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR)
    git(registry, "remote", "add", "origin", str(origin))
    use_remote(registry, remote)
    monkeypatch.setenv("REMOTE", str(remote))
    monkeypatch.setenv("OUT", str(out))
    monkeypatch.setenv("PYTHON", sys.executable)
    return registry, remote, out


@pytest.mark.slow
def test_pushing_a_good_version_releases_it(pushed):
    repo, _, out = pushed
    git(repo, "push", "--quiet", "origin", "main", "refs/tags/churn@v0.2.0")
    assert (out / "churn-v0.2.0.rc").read_text().strip() == "0", (
        out / "churn-v0.2.0.log"
    ).read_text()
    assert (
        (out / "churn-v0.2.0" / "summary.md").read_text().startswith("### churn@v0.2.0 ✅ verified")
    )
    assert sorted(p.name for p in (out / "churn-v0.2.0" / "manifests").iterdir()) == [
        "deployments.yaml",
        "service.yaml",
    ]
    summary = (out / "churn-v0.2.0" / "summary.md").read_text()
    # The hook's clone has an empty DVC cache: the bytes were read from the remote.
    assert "- ✅ artifact bytes: models/churn.pkl from the DVC remote hashes to" in summary


@pytest.mark.slow
def test_pushing_a_version_with_an_edited_dvc_lock_fails(pushed):
    repo, _, out = pushed
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    next(o for o in lock["stages"]["train"]["outs"] if o["path"] == "models/churn.pkl")["md5"] = (
        "f" * 32
    )
    (repo / "dvc.lock").write_text(yaml.safe_dump(lock, sort_keys=False))
    forged = commit_all(repo, "Edit dvc.lock after tagging")
    message = tag_message(repo, "churn@v0.2.0")
    git(
        repo,
        "tag",
        "-f",
        "-a",
        "--cleanup=verbatim",
        "-F",
        "-",
        "churn@v0.2.0",
        forged,
        stdin=message,
    )
    git(repo, "push", "--quiet", "origin", "main", "refs/tags/churn@v0.2.0")
    assert (out / "churn-v0.2.0.rc").read_text().strip() == "1"
    log = (out / "churn-v0.2.0.log").read_text()
    assert "error: churn@v0.2.0 did not verify: commit: the tag points at" in log
    assert "f" * 32 in log


@pytest.mark.slow
def test_pushing_a_version_whose_remote_bytes_changed_fails(pushed):
    repo, remote, out = pushed
    md5 = modelgit.show(repo, "churn@v0.2.0").metadata["artifact"]["md5"]
    stored = remote / "files" / "md5" / md5[:2] / md5[2:]
    data = bytearray(stored.read_bytes())
    data[0] ^= 0xFF
    stored.chmod(0o644)
    stored.write_bytes(bytes(data))
    git(repo, "push", "--quiet", "origin", "main", "refs/tags/churn@v0.2.0")
    assert (out / "churn-v0.2.0.rc").read_text().strip() == "1"
    log = (out / "churn-v0.2.0.log").read_text()
    assert "artifact bytes: models/churn.pkl: the DVC remote copy hashes to" in log
