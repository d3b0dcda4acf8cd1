"""`init`: the example project, and nothing more than needed in an existing repo."""

from __future__ import annotations

import pytest
from conftest import git

import modelgit
from modelgit.errors import ExampleError


def test_example_project_is_a_ready_git_dvc_project(tmp_path):
    result = modelgit.init(tmp_path / "demo", example=True)
    root = result.path
    assert result.actions[:2] == ("git init", "dvc init")
    assert (root / ".dvc" / "config").exists() and (root / "dvc.yaml").exists()
    assert (root / "pipeline" / "train.py").exists() and (root / "requirements.txt").exists()
    assert git(root, "status", "--porcelain") == ""
    tracked = git(root, "ls-files").split()
    assert "params.yaml" in tracked and not any("__pycache__" in t for t in tracked)
    [model] = modelgit.list_models(root)
    assert (model.name, model.latest) == ("churn", None)


def test_example_refuses_a_non_empty_directory(tmp_path):
    (tmp_path / "keep.txt").write_text("mine\n")
    with pytest.raises(ExampleError, match="not empty"):
        modelgit.init(tmp_path, example=True)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_init_in_an_existing_dvc_repo_adds_nothing(project):
    before = git(project, "status", "--porcelain")
    assert modelgit.init(project).actions == ()
    assert git(project, "status", "--porcelain") == before


def test_init_makes_a_plain_directory_git_and_dvc(tmp_path):
    result = modelgit.init(tmp_path)
    assert result.actions == ("git init", "dvc init")
    assert (tmp_path / ".git").is_dir() and (tmp_path / ".dvc").is_dir()
