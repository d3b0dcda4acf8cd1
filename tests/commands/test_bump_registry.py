"""bump against the registry's whole truth: clones that lack tags, pushes the remote refuses,
old bytes, racing processes and DVC's lock (issue 10, cases 4, 6 and 7)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from conftest import dvc, git
from typer.testing import CliRunner

import modelgit
from modelgit.cli.app import app
from modelgit.errors import AlreadyRegisteredError, IncompleteCloneError, PushRejectedError

runner = CliRunner()


def tags(repo):
    return set(git(repo, "tag", "--list").split())


def test_shallow_and_tagless_clones_are_refused_with_the_fix(registry, tmp_path):
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "--quiet", "--depth", "1", f"file://{registry}", str(shallow))
    with pytest.raises(
        IncompleteCloneError, match=r"shallow clone.*`git fetch --tags --unshallow`"
    ):
        modelgit.bump(shallow, "minor")
    tagless = tmp_path / "tagless"
    git(tmp_path, "clone", "--quiet", "--no-tags", str(registry), str(tagless))
    assert "churn@v0.2.0" not in tags(tagless)
    result = runner.invoke(app, ["show", "churn", "-C", str(tagless)])
    assert result.exit_code == 2 and "git fetch --tags" in result.stderr
    assert "no versions yet" not in result.stderr
    with pytest.raises(IncompleteCloneError, match="fetches no tags"):
        modelgit.bump(tagless, "minor")
    assert not tags(tagless)  # nothing was created


def test_bump_push_refuses_when_origin_has_newer_versions(retrained, tmp_path):
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "--quiet", "--bare", str(retrained), str(origin))
    git(origin, "tag", "-a", "-m", "someone else's", "churn@v0.3.0", "churn@v0.2.0^{commit}")
    git(retrained, "remote", "add", "origin", str(origin))
    with pytest.raises(
        IncompleteCloneError, match=r"origin has version tags of churn .*churn@v0\.3\.0"
    ):
        modelgit.bump(retrained, modelgit.BumpRequest("minor", push=True))
    assert "churn@v0.3.0" not in tags(retrained)


def test_stage_pushes_refuse_while_origin_knows_more_of_the_model(retrained, tmp_path):
    # A stale clone would promote a version origin has retired, or take a taken counter.
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "--quiet", "--bare", str(retrained), str(origin))
    git(retrained, "remote", "add", "origin", str(origin))
    git(origin, "tag", "-a", "-m", "retired elsewhere", "churn@v0.1.0!", "churn@v0.1.0^{commit}")
    before = tags(retrained)
    with pytest.raises(IncompleteCloneError, match=r"origin has tags of churn .*churn@v0\.1\.0!"):
        modelgit.promote(retrained, "churn", "0.1.0", "staging", push=True)
    with pytest.raises(IncompleteCloneError, match="git fetch --tags"):
        modelgit.deprecate(retrained, "churn", "0.2.0", push=True)
    assert tags(retrained) == before  # refused before any tag
    git(retrained, "fetch", "-q", "--tags", "origin")
    with pytest.raises(modelgit.InputError, match="deprecated"):
        modelgit.promote(retrained, "churn", "0.1.0", "staging", push=True)
    assert modelgit.promote(retrained, "churn", "0.2.0", "staging", push=True).pushed_to
    hook = origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'stage tags need a review' >&2\nexit 1\n")
    hook.chmod(0o755)
    with pytest.raises(modelgit.ModelgitError, match=r"failed: stage tags need a review; publish"):
        modelgit.promote(retrained, "churn", "0.2.0", "production", push=True)  # the hook's reason


def test_a_rejected_push_removes_only_the_tag_it_created(retrained, tmp_path):
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "--quiet", "--bare", str(retrained), str(origin))
    hook = origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'tags are protected here' >&2\nexit 1\n")
    hook.chmod(0o755)
    git(retrained, "remote", "add", "origin", str(origin))
    before = tags(retrained)
    with pytest.raises(
        PushRejectedError, match=r"pushing churn@v0\.3\.0 to origin failed \(.*protected"
    ):
        modelgit.bump(retrained, modelgit.BumpRequest("minor", push=True))
    assert tags(retrained) == before  # v0.1.0 and v0.2.0 untouched, v0.3.0 taken back
    hook.unlink()
    pushed = modelgit.bump(retrained, modelgit.BumpRequest("minor", push=True))
    assert pushed.tag == "churn@v0.3.0" and "churn@v0.3.0" in tags(origin)


def test_re_registering_old_bytes_names_the_version(registry):
    git(registry, "checkout", "--quiet", "churn@v0.1.0")
    dvc(registry, "checkout", "--quiet")
    with pytest.raises(
        AlreadyRegisteredError, match=r"already registered as v0\.1\.0 \(churn@v0\.1\.0\)"
    ):
        modelgit.bump(registry, "patch")
    assert tags(registry) == {"churn@v0.1.0", "churn@v0.2.0"}


def test_a_deprecated_versions_bytes_are_not_registered_again(registry):
    modelgit.deprecate(registry, "churn", "0.2.0")
    git(registry, "checkout", "--quiet", "churn@v0.2.0")
    dvc(registry, "checkout", "--quiet")
    before = tags(registry)
    result = runner.invoke(app, ["bump", "patch", "-C", str(registry)])
    assert result.exit_code == 2, result.output
    assert "already registered as v0.2.0 (deprecated) (churn@v0.2.0)" in result.stderr, (
        result.stderr
    )
    assert tags(registry) == before


def test_next_version_follows_the_highest_ever_tagged(retrained):
    modelgit.deprecate(retrained, "churn", "0.2.0")
    assert modelgit.bump(retrained, "patch").tag == "churn@v0.2.1"  # not v0.1.1, below 0.2.0


@pytest.mark.slow
def test_six_concurrent_promotions_take_six_counters(registry):
    stages = [f"stage-{i}" for i in range(6)]
    (registry / ".modelgit.yaml").write_text(f"stages: [{', '.join(stages)}]\n")
    script = "import sys, modelgit; modelgit.promote(sys.argv[1], 'churn', '0.2.0', sys.argv[2])"
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(registry), stage],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for stage in stages
    ]  # fmt: skip
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    counters = sorted(int(tag.rsplit("#", 1)[1]) for tag in tags(registry) if "#" in tag)
    assert counters == [1, 2, 3, 4, 5, 6]
    assert modelgit.list_models(registry)[0].stages == dict.fromkeys(stages, "0.2.0")


@pytest.mark.slow
def test_bump_waits_for_a_dvc_lock_a_sibling_holds(retrained):
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import time, zc.lockfile; lock = zc.lockfile.LockFile('.dvc/tmp/lock'); "
         "print('locked', flush=True); time.sleep(5)"],
        cwd=retrained, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    started = time.monotonic()
    assert modelgit.bump(retrained, "minor").tag == "churn@v0.3.0"
    assert time.monotonic() - started > 3  # DVC alone gives up after 3 s
    holder.wait(timeout=30)
