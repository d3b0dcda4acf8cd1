"""`gc`: a retention plan by default; `--apply` retires with deregistration tags and frees only
what retired versions alone used, in the cache and (with --cloud) on the DVC remote."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from conftest import BIN, dvc, git, tag_message
from typer.testing import CliRunner

import modelgit
from modelgit.cli.app import app
from modelgit.commands.gc import gc
from modelgit.registry import metadata


def object_path(root, md5):
    return root / "files" / "md5" / md5[:2] / md5[2:]


@pytest.fixture
def three_versions(retrained, tmp_path):
    modelgit.bump(retrained, "minor")  # v0.3.0
    modelgit.promote(retrained, "churn", "0.2.0", "production")
    store = tmp_path / "store"
    # In config.local: DVC reads a revision's own config when it pushes that revision, and the
    # versions' commits predate the remote.
    dvc(retrained, "remote", "add", "--local", "-d", "store", str(store))
    dvc(retrained, "push", "--all-tags", "-q")
    return retrained, store


def md5_of(repo, version):
    return metadata.parse(tag_message(repo, f"churn@v{version}"))["artifact"]["md5"]


def test_plan_says_what_is_kept_and_why(three_versions):
    repo, _ = three_versions
    result = gc(repo, keep_last=1, keep_days=0)
    (churn,) = result.plans
    assert churn.kept == {
        "0.2.0": ("held by production now",),
        "0.3.0": ("one of the latest 1", "the latest version"),
    }
    assert churn.retired == ("0.1.0",)
    assert not result.applied
    assert "churn@v0.1.0!" not in git(repo, "tag")  # a plan changes nothing


def test_apply_with_cloud_frees_only_retired_bytes(three_versions, tmp_path):
    repo, store = three_versions
    tags_before = set(git(repo, "tag").split())
    md5 = {v: md5_of(repo, v) for v in ("0.1.0", "0.2.0", "0.3.0")}
    cache = repo / ".dvc" / "cache"
    assert all(object_path(store, m).is_file() for m in md5.values())

    result = gc(repo, keep_last=1, keep_days=0, apply=True, cloud=True)

    assert result.retired_tags == ("churn@v0.1.0!",)
    assert tags_before < set(git(repo, "tag").split())  # nothing deleted, one tag added
    assert result.removed_cache_objects >= 1 and result.removed_remote_objects >= 1
    assert not object_path(cache, md5["0.1.0"]).exists()
    assert not object_path(store, md5["0.1.0"]).exists()
    for kept in ("0.2.0", "0.3.0"):
        assert object_path(cache, md5[kept]).is_file()
        assert object_path(store, md5[kept]).is_file()
        (check,) = modelgit.verify(repo, f"churn@v{kept}")
        assert check.ok
    assert gc(repo, keep_last=1, keep_days=0).plans[0].retired == ()  # idempotent
    # verify --all stays green: a retired version's freed bytes are not a failure...
    every = {v.tag: v for v in modelgit.verify(repo, "churn", all_versions=True)}
    assert all(v.ok for v in every.values())
    (freed,) = [c for c in every["churn@v0.1.0"].checks if c.name == "artifact bytes"]
    assert freed.status.value == "not checked" and "retired" in freed.detail
    # get says why a retired version's bytes are gone, and leaves no folder it made.
    out = tmp_path / "new" / "folder" / "churn.pkl"
    with pytest.raises(modelgit.InputError, match=r"churn@v0\.1\.0 is retired, and its bytes"):
        modelgit.get("churn@v0.1.0", out, repo=repo)
    assert not (tmp_path / "new").exists()
    # ...but an active version's missing bytes are.
    object_path(cache, md5["0.2.0"]).unlink()
    object_path(store, md5["0.2.0"]).unlink()
    assert not modelgit.verify(repo, "churn@v0.2.0")[0].ok


def test_a_bad_policy_is_an_input_error(three_versions):
    repo, _ = three_versions
    (repo / ".modelgit.yaml").write_text("retention:\n  keep_lats: 3\n")
    with pytest.raises(modelgit.InputError, match="keep_lats"):
        gc(repo)


def test_the_command_line_plans_by_default(three_versions):
    import json

    from typer.testing import CliRunner

    from modelgit.cli.app import app

    repo, _ = three_versions
    runner = CliRunner()
    planned = runner.invoke(app, ["gc", "--keep-last", "1", "--keep-days", "0", "-C", str(repo)])
    assert planned.exit_code == 0, planned.output
    assert "retire  v0.1.0" in planned.stdout and "modelgit gc --apply" in planned.stdout
    as_json = runner.invoke(app, ["gc", "--keep-last", "1", "--json", "-C", str(repo)])
    assert json.loads(as_json.stdout)["applied"] is False
    assert runner.invoke(app, ["gc", "--cloud", "-C", str(repo)]).exit_code == 2


def test_an_unknown_dvc_remote_is_refused_before_any_tag(three_versions):
    repo, _ = three_versions
    before = git(repo, "tag")
    with pytest.raises(modelgit.InputError, match="no DVC remote named 'nosuch'"):
        gc(repo, keep_last=1, keep_days=0, apply=True, cloud=True, remote="nosuch")
    assert git(repo, "tag") == before


def gto_stages(repo) -> dict:
    """The stages `gto show --json` (GTO's own command line) reports held, per model."""
    proc = subprocess.run(
        [os.path.join(BIN, "gto"), "show", "--json"], cwd=repo, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    return {
        name: {s: v for s, v in m["stage"].items() if v}
        for name, m in json.loads(proc.stdout).items()
    }


def listed_stages(repo) -> dict:
    """The same, as `modelgit list --json` reports it."""
    result = CliRunner().invoke(app, ["list", "--json", "-C", str(repo)])
    assert result.exit_code == 0, result.output
    return {
        m["name"]: {s: f"v{v}" for s, v in m["stages"].items() if v}
        for m in json.loads(result.stdout)
    }


def test_versions_that_left_their_stage_are_archived_and_gto_agrees(three_versions):
    repo, _ = three_versions
    (repo / ".modelgit.yaml").write_text("retention:\n  archive_stage: archived\n")
    modelgit.promote(repo, "churn", "0.3.0", "production", force=True)  # replaces v0.2.0
    modelgit.promote(repo, "churn", "0.1.0", "staging")
    modelgit.promote(repo, "churn", "0.3.0", "staging")  # v0.1.0 leaves staging
    (plan,) = gc(repo, keep_last=3).plans
    assert plan.archive == ("0.1.0", "0.2.0") and plan.retired == ()
    before = set(git(repo, "tag").split())

    applied = gc(repo, keep_last=3, apply=True)

    assert applied.archived_tags == ("churn#archived#5", "churn#archived#6")
    assert set(git(repo, "tag").split()) == before | set(applied.archived_tags)  # only added
    assert "action: archive" in tag_message(repo, "churn#archived#5")
    expected = {"churn": {"production": "v0.3.0", "staging": "v0.3.0", "archived": "v0.2.0"}}
    assert listed_stages(repo) == gto_stages(repo) == expected
    assert gc(repo, keep_last=3).plans[0].archive == ()  # idempotent: archived once
    # The archive stage keeps nothing: with keep_last 1 both archived versions are retired.
    (plan,) = gc(repo, keep_last=1, keep_days=0).plans
    assert plan.retired == ("0.1.0", "0.2.0") and plan.archive == ()
    assert list(plan.kept) == ["0.3.0"]


def test_archive_stage_flag_overrides_the_config_and_shows_in_the_plan(three_versions):
    repo, _ = three_versions
    modelgit.promote(repo, "churn", "0.3.0", "production", force=True)
    runner = CliRunner()
    args = ["gc", "--keep-last", "3", "-C", str(repo)]
    text = runner.invoke(app, [*args, "--archive-stage", "retired-stage"])
    assert text.exit_code == 0, text.output
    assert "archive v0.2.0  (left its stage; to retired-stage)" in text.stdout
    assert "churn: keep 3, retire 0, archive 1" in text.stdout
    document = json.loads(runner.invoke(app, [*args, "--json", "--archive-stage", "old"]).stdout)
    assert document["policy"]["archive_stage"] == "old"
    assert document["plans"][0]["archive"] == ["0.2.0"]
    assert json.loads(runner.invoke(app, [*args, "--json"]).stdout)["plans"][0]["archive"] == []
    bad = runner.invoke(app, [*args, "--archive-stage", "Old Versions"])
    assert bad.exit_code == 2 and "archive stage 'Old Versions'" in bad.stderr


def test_a_refused_archive_retires_nothing(three_versions):
    repo, _ = three_versions
    modelgit.promote(repo, "churn", "0.3.0", "production", force=True)  # v0.2.0 leaves it
    (repo / ".modelgit.yaml").write_text(
        "stages: [staging, production, archived]\nretention:\n  archive_stage: archived\n"
        "policy:\n  archived: {from: staging}\n"
    )
    (plan,) = gc(repo, keep_last=2, keep_days=0).plans
    assert plan.archive == ("0.2.0",) and plan.retired == ("0.1.0",)
    before = git(repo, "tag")
    with pytest.raises(modelgit.CheckFailedError, match="the archived policy takes versions from"):
        gc(repo, keep_last=2, keep_days=0, apply=True)
    assert git(repo, "tag") == before  # archiving comes first: nothing was retired


@pytest.fixture
def origin(three_versions, tmp_path):
    """The registry pushed to a bare origin; its DVC remote shared by every clone."""
    repo, store = three_versions
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(repo, "push", "-q", str(bare), "HEAD:refs/heads/main", "--tags")
    return repo, store, bare


def clone_of(bare, target, store, *flags):
    git(bare.parent, "clone", "-q", *flags, bare.as_uri(), str(target))
    dvc(target, "remote", "add", "--local", "-d", "store", str(store))
    return target


def test_a_clone_that_cannot_see_the_tags_is_refused_plan_included(origin, tmp_path):
    repo, store, bare = origin
    md5 = {v: md5_of(repo, v) for v in ("0.1.0", "0.2.0", "0.3.0")}
    runner = CliRunner()
    tagless = clone_of(bare, tmp_path / "tagless", store, "--no-tags")
    for args in (["--apply", "--cloud", "--keep-last", "10"], []):
        refused = runner.invoke(app, ["gc", *args, "-C", str(tagless)])
        assert refused.exit_code == 2, refused.output
        assert refused.stderr.count("\n") == 1 and "git fetch --tags" in refused.stderr
    assert all(object_path(store, m).is_file() for m in md5.values())  # nothing freed
    assert git(tagless, "tag") == ""
    shallow = clone_of(bare, tmp_path / "shallow", store, "--depth", "1")
    refused = runner.invoke(app, ["gc", "--keep-last", "10", "-C", str(shallow)])
    assert refused.exit_code == 2 and "git fetch --tags --unshallow" in refused.stderr


def test_cloud_gc_refuses_while_origin_has_registry_tags_this_clone_lacks(origin, tmp_path):
    repo, store, bare = origin
    clone = clone_of(bare, tmp_path / "clone", store)
    modelgit.promote(repo, "churn", "0.1.0", "staging")  # after the clone was made
    git(repo, "push", "-q", str(bare), "--tags")
    before = git(clone, "tag")
    with pytest.raises(modelgit.InputError, match=r"lacks \(churn#staging#2\).*git fetch --tags"):
        gc(clone, keep_last=1, keep_days=0, apply=True, cloud=True)
    assert git(clone, "tag") == before  # refused before any tag
    assert object_path(store, md5_of(repo, "0.1.0")).is_file()
    # The plan of this clone would retire v0.1.0, which origin's staging now holds.
    assert gc(clone, keep_last=1, keep_days=0).plans[0].retired == ("0.1.0",)
    git(clone, "fetch", "-q", "--tags")
    applied = gc(clone, keep_last=1, keep_days=0, apply=True, cloud=True)
    assert applied.retired_tags == () and object_path(store, md5_of(repo, "0.1.0")).is_file()


def test_cloud_gc_frees_shared_bytes_only_once_origin_shows_the_retirement(origin, tmp_path):
    repo, store, bare = origin
    clone = clone_of(bare, tmp_path / "clone", store)
    hook = bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'tags are frozen today' >&2\nexit 1\n")
    hook.chmod(0o755)
    with pytest.raises(modelgit.InputError, match=r"cannot push .*frozen today.*nothing was freed"):
        gc(clone, keep_last=1, keep_days=0, apply=True, cloud=True)
    assert object_path(store, md5_of(repo, "0.1.0")).is_file()  # origin never saw why
    assert "churn@v0.1.0!" in git(clone, "tag")  # the local tags stay: nothing is lost

    hook.unlink()
    # The refused run's retirement stays this clone's: publishing it is the user's decision,
    # not a side effect of freeing storage (it was planned without origin's view).
    with pytest.raises(modelgit.InputError, match=r"lacks \(churn@v0\.1\.0!\).*git push origin"):
        gc(clone, keep_last=1, keep_days=0, apply=True, cloud=True)
    assert object_path(store, md5_of(repo, "0.1.0")).is_file()
    git(clone, "push", "-q", "origin", "churn@v0.1.0!")
    applied = gc(clone, keep_last=1, keep_days=0, apply=True, cloud=True)
    assert applied.retired_tags == () and applied.pushed_tags == ()
    assert not object_path(store, md5_of(repo, "0.1.0")).exists()
    teammate = clone_of(bare, tmp_path / "teammate", store)
    rows = {row.version: row.deprecated for row in modelgit.list_versions(teammate, "churn")}
    assert rows == {"0.1.0": True, "0.2.0": False, "0.3.0": False}


def test_a_stale_clone_does_not_retire_what_a_teammate_promoted_meanwhile(origin, tmp_path):
    repo, store, bare = origin
    stale = clone_of(bare, tmp_path / "stale", store)
    modelgit.promote(repo, "churn", "0.1.0", "staging", push=False)
    git(repo, "push", "-q", str(bare), "--tags")  # the teammate's promotion reaches origin
    before = git(stale, "tag")
    with pytest.raises(modelgit.InputError, match=r"lacks \(churn#staging#\d+\).*git fetch"):
        gc(stale, keep_last=1, keep_days=0, apply=True)  # plain --apply asks origin too
    assert git(stale, "tag") == before
    git(stale, "fetch", "-q", "--tags")
    (plan,) = gc(stale, keep_last=1, keep_days=0).plans
    assert "0.1.0" in plan.kept and "held by staging now" in plan.kept["0.1.0"]


def test_cloud_gc_pushes_its_archive_tags_and_frees_hand_deprecated_copies(origin, tmp_path):
    repo, store, bare = origin
    modelgit.publish(repo, "churn@v0.1.0")
    published = store / "modelgit" / "churn" / "v0.1.0"
    assert published.is_dir()
    clone = clone_of(bare, tmp_path / "clone", store)
    modelgit.deprecate(clone, "churn", "0.1.0", "superseded", push=True)  # by hand, before gc
    modelgit.promote(clone, "churn", "0.3.0", "production", force=True)  # v0.2.0 leaves it
    applied = gc(clone, keep_last=3, keep_days=0, archive_stage="archived", apply=True, cloud=True)
    assert applied.archived_tags == ("churn#archived#3",)
    assert not published.exists() and applied.removed_published
    on_origin = git(bare, "tag").split()
    # Another clone's next stage tag must see the archive tag's counter.
    assert {"churn#archived#3", "churn@v0.1.0!"} <= set(on_origin)
    assert applied.pushed_tags == ("churn#archived#3",)


def test_archived_versions_are_retired_and_gto_agrees(three_versions):
    repo, _ = three_versions
    (repo / ".modelgit.yaml").write_text("retention:\n  archive_stage: archived\n")
    modelgit.promote(repo, "churn", "0.3.0", "production", force=True)  # v0.2.0 leaves it
    assert gc(repo, keep_last=3, apply=True).archived_tags == ("churn#archived#3",)
    (plan,) = gc(repo, keep_last=1, keep_days=0).plans
    assert plan.retired == ("0.1.0", "0.2.0")  # v0.2.0 is only in the archive stage

    applied = gc(repo, keep_last=1, keep_days=0, apply=True)

    assert applied.retired_tags == ("churn@v0.1.0!", "churn@v0.2.0!")
    assert listed_stages(repo) == gto_stages(repo) == {"churn": {"production": "v0.3.0"}}
    assert gc(repo, keep_last=1, keep_days=0).plans[0].retired == ()


def test_a_plan_counts_one_day_in_the_singular(three_versions):
    repo, _ = three_versions
    planned = CliRunner().invoke(app, ["gc", "--keep-days", "1", "-C", str(repo)])
    assert planned.exit_code == 0, planned.output
    assert "versions newer than 1 day," in planned.stdout
    assert "newer than 1 day)" in planned.stdout and "1 days" not in planned.stdout


def test_a_working_stage_is_refused_as_the_archive_stage_before_any_tag(three_versions):
    repo, _ = three_versions
    modelgit.promote(repo, "churn", "0.3.0", "production", force=True)
    before = git(repo, "tag")
    runner = CliRunner()
    args = ["gc", "--keep-last", "5", "-C", str(repo)]
    for plan_or_apply in ([], ["--apply"]):
        refused = runner.invoke(app, [*args, *plan_or_apply, "--archive-stage", "production"])
        assert refused.exit_code == 2 and refused.stderr.count("\n") == 1, refused.output
        assert "archive stage 'production' is a working stage" in refused.stderr
    # A stage GTO's own `assign` moved is a working stage too.
    proc = subprocess.run(
        [os.path.join(BIN, "gto"), "assign", "churn", "--version", "v0.1.0", "--stage", "old"],
        cwd=repo, capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    with pytest.raises(modelgit.InputError, match=r"churn#old#3 assigned v0.1.0 to it by GTO"):
        gc(repo, archive_stage="old", apply=True)
    (repo / ".modelgit.yaml").write_text(
        "stages: [dev, live, old-versions]\npromotion_order: [dev, live]\n"
        "retention:\n  archive_stage: live\n"
    )
    with pytest.raises(modelgit.InputError, match=r"'live'.*in promotion_order \(dev -> live\)"):
        gc(repo)
    assert set(git(repo, "tag").split()) == set(before.split()) | {"churn#old#3"}


def test_the_plan_names_already_retired_versions_whose_storage_apply_frees(three_versions):
    repo, _ = three_versions
    modelgit.deprecate(repo, "churn", "0.1.0")  # retired by hand, before any gc
    md5 = {v: md5_of(repo, v) for v in ("0.1.0", "0.2.0", "0.3.0")}
    cache = repo / ".dvc" / "cache"
    runner = CliRunner()

    # Deprecated a moment ago: within keep_days its bytes stay, so the deprecation can be
    # undone with them (a deprecated version stays readable).
    planned = runner.invoke(app, ["gc", "-C", str(repo)])
    assert planned.exit_code == 0, planned.output
    assert "recently retired: v0.1.0 (retired less than 90 days ago" in planned.stdout
    assert json.loads(runner.invoke(app, ["gc", "--json", "-C", str(repo)]).stdout)["plans"][0][
        "recently_retired"
    ] == ["0.1.0"]
    kept = runner.invoke(app, ["gc", "--apply", "-C", str(repo)])
    assert kept.exit_code == 0, kept.output
    assert object_path(cache, md5["0.1.0"]).is_file()
    assert modelgit.verify(repo, "churn@v0.1.0")[0].ok

    # Past the window (none, here), the storage only it used goes.
    planned = runner.invoke(app, ["gc", "--keep-days", "0", "-C", str(repo)])
    assert planned.exit_code == 0, planned.output
    assert "churn: keep 2, retire 0" in planned.stdout
    assert "already retired: v0.1.0" in planned.stdout
    assert "freed by `modelgit gc --apply`" in planned.stdout
    as_json = json.loads(
        runner.invoke(app, ["gc", "--json", "--keep-days", "0", "-C", str(repo)]).stdout
    )
    assert as_json["plans"][0]["already_retired"] == ["0.1.0"]
    assert object_path(cache, md5["0.1.0"]).is_file()  # a plan frees nothing

    applied = runner.invoke(app, ["gc", "--apply", "--keep-days", "0", "-C", str(repo)])
    assert applied.exit_code == 0, applied.output
    assert "retired 0 version(s)" in applied.stdout
    assert not object_path(cache, md5["0.1.0"]).exists()
    for kept in ("0.2.0", "0.3.0"):
        assert object_path(cache, md5[kept]).is_file()
        (check,) = modelgit.verify(repo, f"churn@v{kept}")
        assert check.ok
