"""`get`: a version's bytes by name or stage, from a working copy or a git URL, md5-checked."""

from __future__ import annotations

import hashlib

import pytest
from conftest import copy_project, dvc, git, tag_message, template_env

import modelgit
from modelgit.commands.get import get
from modelgit.registry import metadata


def md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def published(retrained_template, tmp_path_factory):
    """v0.3.0 cut at a commit that configures a DVC remote holding its bytes; a bare origin.

    Built once for the module: `get` only reads the project."""
    with template_env(tmp_path_factory):
        base = tmp_path_factory.mktemp("published")
        repo = copy_project(retrained_template, base)
        store = base / "store"
        dvc(repo, "remote", "add", "-d", "store", str(store))
        git(repo, "commit", "-qam", "Add a DVC remote")
        modelgit.bump(repo, "minor")
        modelgit.promote(repo, "churn", "0.2.0", "production")
        dvc(repo, "push", "-q")
        origin = base / "origin.git"
        git(base, "init", "-q", "--bare", str(origin))
        git(repo, "push", "-q", str(origin), "HEAD:refs/heads/main", "--tags")
    return repo, origin


def test_get_by_stage_from_the_working_copy(published, tmp_path):
    repo, _ = published
    recorded = metadata.parse(tag_message(repo, "churn@v0.2.0"))["artifact"]
    result = get("churn#production", tmp_path / "out" / "model.pkl", repo=repo)
    assert (result.version, result.tag, result.md5) == ("0.2.0", "churn@v0.2.0", recorded["md5"])
    assert md5(result.path) == recorded["md5"]
    again = get("churn#production", tmp_path / "out" / "model.pkl", repo=repo)
    assert again.already_there


def test_get_from_a_git_url_reads_the_dvc_remote(published, tmp_path, monkeypatch):
    repo, origin = published
    monkeypatch.chdir(tmp_path)
    result = get("churn@v0.3.0", url=origin.as_uri())
    assert result.path == tmp_path / "churn.pkl"
    assert md5(result.path) == metadata.parse(tag_message(repo, "churn@v0.3.0"))["artifact"]["md5"]


def test_refuses_to_overwrite_a_different_file(published, tmp_path):
    repo, _ = published
    mine = tmp_path / "churn.pkl"
    mine.write_bytes(b"my own model")
    with pytest.raises(modelgit.InputError, match="--force"):
        get("churn", mine, repo=repo)
    assert mine.read_bytes() == b"my own model"
    get("churn", mine, repo=repo, force=True)
    assert mine.read_bytes() != b"my own model"


def test_bytes_nowhere_fail_and_leave_nothing(retrained, tmp_path):
    modelgit.bump(retrained, "minor")
    recorded = metadata.parse(tag_message(retrained, "churn@v0.3.0"))["artifact"]["md5"]
    cached = retrained / ".dvc" / "cache" / "files" / "md5" / recorded[:2] / recorded[2:]
    cached.unlink()
    (retrained / "models" / "churn.pkl").unlink()
    target = tmp_path / "model.pkl"
    with pytest.raises(modelgit.ModelgitError):
        get("churn@v0.3.0", target, repo=retrained)
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".modelgit-get")] == []


def test_the_command_line_takes_a_working_copy_or_a_bare_repository(published, tmp_path):
    import json

    from typer.testing import CliRunner

    from modelgit.cli.app import app

    repo, origin = published
    runner = CliRunner()
    by_dir = runner.invoke(
        app,
        ["get", "churn#production", "-o", str(tmp_path / "a.pkl"), "--repo", str(repo), "--json"],
    )
    assert by_dir.exit_code == 0, by_dir.output
    assert json.loads(by_dir.stdout)["tag"] == "churn@v0.2.0"
    by_url = runner.invoke(
        app, ["get", "churn@v0.3.0", "-o", str(tmp_path / "b.pkl"), "--repo", str(origin)]
    )
    assert by_url.exit_code == 0, by_url.output
    assert "md5 checked" in by_url.stdout
    # A deprecated version is served all the same, flagged in the text and the JSON.
    modelgit.deprecate(repo, "churn", "0.1.0", "superseded")
    retired = runner.invoke(
        app,
        ["get", "churn@v0.1.0", "-o", str(tmp_path / "c.pkl"), "--repo", str(repo), "--json"],
    )
    assert retired.exit_code == 0, retired.output
    assert json.loads(retired.stdout)["deprecated"] is True
    assert retired.stderr == "warning: churn@v0.1.0 is deprecated; it is served all the same\n"
    assert json.loads(by_dir.stdout)["deprecated"] is False
    # A whole-model deprecation is flagged too.
    modelgit.deprecate(repo, "churn", message="replaced", force=True)
    whole = runner.invoke(
        app, ["get", "churn@v0.3.0", "-o", str(tmp_path / "d.pkl"), "--repo", str(repo), "--json"]
    )
    assert whole.exit_code == 0, whole.output
    assert json.loads(whole.stdout)["model_deprecated"] is True
    assert (
        whole.stderr
        == "warning: the model of churn@v0.3.0 is deprecated; it is served all the same\n"
    )
    assert modelgit.show(repo, "churn@v0.3.0").model_deprecated


def test_a_folder_is_never_replaced(published, tmp_path):
    repo, _ = published
    folder = tmp_path / "models"
    (folder / "keep").mkdir(parents=True)
    (folder / "keep" / "notes.txt").write_text("important")
    result = get("churn", folder, repo=repo, force=True)
    assert result.path == folder / "churn.pkl"  # like `cp FILE DIR`
    assert (folder / "keep" / "notes.txt").read_text() == "important"
    with pytest.raises(modelgit.InputError, match="empty"):
        get("churn", "", repo=repo)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(modelgit.InputError, match="cannot write"):
        get("churn", blocker / "inside.pkl", repo=repo)
