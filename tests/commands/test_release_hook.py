"""The release workflow's own steps, run by a bare origin's hook against the S3 test server;
and the checkout rewrite (an annotated tag made lightweight) undone by the workflow's fetch."""

from __future__ import annotations

import hashlib
import shutil
import stat
import subprocess

import pytest
import yaml
from conftest import commit_all, git, s3_client

import modelgit

HOOK = """#!/bin/sh
# The CI stand-in: for each pushed tag, a fresh clone at the tag runs the release job's steps
# as `ci init` wrote them (all but the install), with GitHub's variables set.
unset GIT_DIR GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES
origin=$(pwd)
while read old new ref; do
  case "$ref" in refs/tags/*) ;; *) continue ;; esac
  tag=${ref#refs/tags/}
  name=$(echo "$tag" | tr '@=#' '---')
  work=$(mktemp -d)
  git clone --quiet "$origin" "$work/repo"
  (
    cd "$work/repo" && git checkout --quiet --detach "refs/tags/$tag" || exit 9
    # The versions predate the commit that configured the S3 remote: configure it locally.
    cp "$DVC_CONFIG_LOCAL" .dvc/config.local
    export TAG="$tag" EVENT=push TOKEN=unused DEFAULT_BRANCH=main \
      GITHUB_STEP_SUMMARY="$OUT/$name.summary.md"
    for step in "$STEPS"/*.sh; do sh -e "$step" || exit $?; done
  ) > "$OUT/$name.log" 2>&1
  echo $? > "$OUT/$name.rc"
  cp -r "$work/repo/release" "$OUT/$name" 2>/dev/null
done
"""


def release_steps(repo) -> list[tuple[str, str]]:
    """The release job's `run:` steps as `ci init` wrote them, but the install."""
    workflow = yaml.safe_load((repo / ".github/workflows/modelgit-release.yml").read_text())
    steps = workflow["jobs"]["release"]["steps"]
    return [(s["name"], s["run"]) for s in steps if "run" in s and s["name"] != "Install modelgit"]


def bare_origin(repo, tmp_path, hook: str | None = None):
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "--quiet", "--bare", str(origin))
    if hook is not None:
        path = origin / "hooks" / "post-receive"
        path.write_text(hook)
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    git(repo, "remote", "add", "origin", str(origin))
    return origin


@pytest.mark.slow
def test_pushed_tags_are_released_by_the_workflow_steps(s3_registry, s3_server, tmp_path,
                                                        monkeypatch):  # fmt: skip
    repo, bucket = s3_registry
    modelgit.ci_init(repo, "github")
    steps, out = tmp_path / "steps", tmp_path / "released"
    steps.mkdir(), out.mkdir()
    names = [name for name, _ in release_steps(repo)]
    assert names == ["Keep the pushed tag annotated", "Release", "Job summary"]
    for index, (_, script) in enumerate(release_steps(repo)):
        (steps / f"{index}.sh").write_text(script)
    monkeypatch.setenv("STEPS", str(steps))
    monkeypatch.setenv("OUT", str(out))
    local = tmp_path / "config.local"
    local.write_text(f"[core]\n    remote = s3\n['remote \"s3\"']\n    url = s3://{bucket}/dvcstore\n"
                     f"    endpointurl = {s3_server}\n")  # fmt: skip
    monkeypatch.setenv("DVC_CONFIG_LOCAL", str(local))
    bare_origin(repo, tmp_path, HOOK)
    stage = modelgit.promote(repo, "churn", "0.2.0", "production").tag
    old = modelgit.show(repo, "churn@v0.1.0").metadata["artifact"]["md5"]
    client = s3_client(s3_server)
    client.put_object(Bucket=bucket, Key=f"dvcstore/files/md5/{old[:2]}/{old[2:]}", Body=b"x")
    git(repo, "push", "--quiet", "origin", "main", "refs/tags/churn@v0.2.0", f"refs/tags/{stage}",
        "refs/tags/churn@v0.1.0")  # fmt: skip

    def ran(name: str) -> tuple[str, str]:
        return (out / f"{name}.rc").read_text().strip(), (out / f"{name}.log").read_text()

    # Registration: verified from the remote (the clone's cache is empty), published, rendered.
    code, log = ran("churn-v0.2.0")
    assert code == "0", log
    summary = (out / "churn-v0.2.0.summary.md").read_text()  # the job summary
    assert "### churn@v0.2.0 ✅ verified" in summary
    assert "artifact bytes: models/churn.pkl from the DVC remote hashes to" in summary
    uri = f"s3://{bucket}/dvcstore/modelgit/churn/v0.2.0"
    assert f"published: `{uri}`" in summary
    md5 = modelgit.show(repo, "churn@v0.2.0").metadata["artifact"]["md5"]
    body = client.get_object(Bucket=bucket, Key="dvcstore/modelgit/churn/v0.2.0/churn.pkl")
    assert hashlib.md5(body["Body"].read()).hexdigest() == md5
    assert sorted(p.name for p in (out / "churn-v0.2.0" / "manifests").iterdir()) == [
        "rollout.yaml", "services.yaml",
    ]  # fmt: skip
    # Stage assignment: the stage's manifests (production's first version: deployed plainly).
    slug = stage.replace("#", "-")
    code, log = ran(slug)
    assert code == "0", log
    assert f"### {stage}: churn@v0.2.0 to production" in (out / f"{slug}.summary.md").read_text()
    assert (out / slug / "manifests" / "services.yaml").is_file()
    # A tampered remote object: the release fails, and nothing is published for it.
    code, log = ran("churn-v0.1.0")
    assert code == "1"
    assert (
        "error: churn@v0.1.0 did not verify: artifact bytes: models/churn.pkl: the DVC remote "
        "copy hashes to" in log
    )
    listed = client.list_objects_v2(Bucket=bucket, Prefix="dvcstore/modelgit/churn/v0.1.0/")
    assert listed.get("KeyCount", 0) == 0


def test_the_fetch_step_restores_a_tag_checkout_made_lightweight(registry, tmp_path):
    modelgit.ci_init(registry, "github")
    # No DVC remote for pods to download from: the model is baked into a per-version image.
    (registry / ".modelgit.yaml").write_text("deploy: {image: 'acme/{model}:{version}'}\n")
    commit_all(registry, "Serve per-version images")
    [(_, fetch)] = [s for s in release_steps(registry) if s[0].startswith("Keep")]
    bare_origin(registry, tmp_path)
    git(registry, "push", "--quiet", "origin", "main", "refs/tags/churn@v0.2.0")
    clone = tmp_path / "checkout"
    git(tmp_path, "clone", "--quiet", str(tmp_path / "origin.git"), str(clone))
    shutil.copytree(registry / ".dvc" / "cache", clone / ".dvc" / "cache")
    commit = git(clone, "rev-parse", "churn@v0.2.0^{commit}").strip()
    # What actions/checkout v4.2.2 does when refs/tags/T (the tag object) differs from the
    # commit it was given: fetch `+<commit>:refs/tags/T`, a lightweight tag in its place.
    git(clone, "fetch", "--quiet", "origin", f"+{commit}:refs/tags/churn@v0.2.0")
    assert git(clone, "cat-file", "-t", "refs/tags/churn@v0.2.0").strip() == "commit"
    failed = subprocess.run(["modelgit", "ci", "release", "churn@v0.2.0"], cwd=clone,
                            capture_output=True, text=True, check=False)  # fmt: skip
    assert failed.returncode != 0 and "lightweight" in failed.stderr
    env = {"TAG": "churn@v0.2.0", "TOKEN": "unused"}
    subprocess.run(["sh", "-e", "-c", fetch], cwd=clone, env={**_env(), **env}, check=True)
    assert git(clone, "cat-file", "-t", "refs/tags/churn@v0.2.0").strip() == "tag"
    released = subprocess.run(["modelgit", "ci", "release", "churn@v0.2.0"], cwd=clone,
                              capture_output=True, text=True, check=False)  # fmt: skip
    assert released.returncode == 0, released.stderr
    assert "### churn@v0.2.0 ✅ verified" in released.stdout


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)
