"""CI: workflows that pass real linters, the release step, the PR report, and a push hook."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest
import yaml
from conftest import BIN, change_and_repro, commit_all, dvc, git
from typer.testing import CliRunner

import modelgit
from modelgit.cli.app import app
from modelgit.commands import ci, stages
from modelgit.errors import ManifestError

runner = CliRunner()


def tool(name: str, *args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([os.path.join(BIN, name), *args], cwd=cwd, capture_output=True,
                          text=True, check=False)  # fmt: skip


def test_github_workflows_validate_and_pass_zizmor(registry):
    result = ci.init(registry, "github")
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
    result = ci.init(registry, "gitlab")
    assert result.written == (".gitlab/modelgit.gitlab-ci.yml", ".gitlab-ci.yml")
    files = [str(registry / path) for path in result.written]
    checked = tool("check-jsonschema", "--builtin-schema", "vendor.gitlab-ci", *files)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_existing_workflows_are_never_overwritten_without_force(registry):
    ci.init(registry, "github")
    target = registry / ".github/workflows/modelgit-release.yml"
    target.write_text("# mine\n")
    with pytest.raises(ManifestError, match="exists; pass --force"):
        ci.init(registry, "github")
    assert target.read_text() == "# mine\n"
    result = runner.invoke(app, ["ci", "init", "--force", "-C", str(registry)])
    assert result.exit_code == 0 and "modelgit ci release" in target.read_text()


def test_release_verifies_renders_and_summarises(registry, tmp_path):
    stages.promote(registry, "churn", "0.1.0", "production")
    result = ci.release(registry, "churn@v0.2.0", registry / "release")
    assert result.verified and result.problems == ()
    assert sorted(os.path.basename(m) for m in result.manifests) == [
        "deployments.yaml",
        "service.yaml",
    ]
    summary = (registry / "release" / "summary.md").read_text()
    assert summary.startswith("### churn@v0.2.0 ✅ verified")
    assert "#### Metrics vs previous (churn@v0.1.0)" in summary
    assert "#### Metrics vs production (churn@v0.1.0)" in summary
    with pytest.raises(Exception, match="not a version tag"):
        ci.release(registry, "churn#production#1")


def test_report_lists_changed_models_against_base_and_production(registry):
    stages.promote(registry, "churn", "0.2.0", "production")
    git(registry, "branch", "base")
    change_and_repro(registry, "C: 0.3", "C: 0.05", "Much stronger regularisation")
    out = registry / "report.md"
    result = runner.invoke(app, ["ci", "report", "--base", "base", "--out", str(out),
                                 "--fail-on", "any-metric-worse", "-C", str(registry)])  # fmt: skip
    text = out.read_text()
    assert text.startswith("<!-- modelgit report -->\n## modelgit report")
    assert "| `train.C` | 0.3 | 0.05 | changed |" in text
    assert "<details><summary>Against production</summary>" in text
    worse = any(m.verdict == "worse" for m in modelgit.diff(registry, "base", "HEAD")[0].metrics)
    assert result.exit_code == (1 if worse else 0)
    unchanged = ci.report(registry, "HEAD")
    assert "No model changes" in unchanged.markdown and unchanged.models == ()


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


@pytest.fixture
def pushed(registry, tmp_path):
    """An origin whose post-receive hook releases pushed version tags; a local DVC remote."""
    origin, remote, out = tmp_path / "origin.git", tmp_path / "dvc-remote", tmp_path / "released"
    out.mkdir()
    git(tmp_path, "init", "--quiet", "--bare", str(origin))
    hook = origin / "hooks" / "post-receive"
    hook.write_text(HOOK)
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR)
    git(registry, "remote", "add", "origin", str(origin))
    dvc(registry, "remote", "add", "--local", "-d", "storage", str(remote))
    os.environ.update(REMOTE=str(remote), OUT=str(out), PYTHON=sys.executable)
    try:
        yield registry, remote, out
    finally:
        for name in ("REMOTE", "OUT", "PYTHON"):
            os.environ.pop(name, None)


def test_pushing_a_good_version_releases_it(pushed):
    repo, _, out = pushed
    dvc(repo, "push", "--quiet")
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


def test_pushing_a_version_with_an_edited_dvc_lock_fails(pushed):
    repo, _, out = pushed
    dvc(repo, "push", "--quiet")
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    next(o for o in lock["stages"]["train"]["outs"] if o["path"] == "models/churn.pkl")["md5"] = (
        "f" * 32
    )
    (repo / "dvc.lock").write_text(yaml.safe_dump(lock, sort_keys=False))
    forged = commit_all(repo, "Edit dvc.lock after tagging")
    message = git(repo, "for-each-ref", "--format=%(contents)", "refs/tags/churn@v0.2.0")
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


def test_pushing_a_version_whose_remote_bytes_changed_fails(pushed):
    repo, remote, out = pushed
    dvc(repo, "push", "--quiet")
    md5 = modelgit.show(repo, "churn@v0.2.0").metadata["artifact"]["md5"]
    stored = remote / "files" / "md5" / md5[:2] / md5[2:]
    data = bytearray(stored.read_bytes())
    data[0] ^= 0xFF
    stored.chmod(0o644)
    stored.write_bytes(bytes(data))
    git(repo, "push", "--quiet", "origin", "main", "refs/tags/churn@v0.2.0")
    assert (out / "churn-v0.2.0.rc").read_text().strip() == "1"
    log = (out / "churn-v0.2.0.log").read_text()
    assert "artifact bytes: models/churn.pkl from the DVC remote hashes to" in log
