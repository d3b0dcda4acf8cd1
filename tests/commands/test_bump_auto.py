"""`bump auto`: one test per rule of DESIGN 3.5, on real retrained models."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import change_and_repro, commit_all, copy_project, dvc, git, tag_message, template_env
from typer.testing import CliRunner

import modelgit
from modelgit.cli.app import app
from modelgit.errors import AlreadyRegisteredError
from modelgit.registry import metadata

TOLERANCE = ('max_iter=int(p["max_iter"])', 'max_iter=int(p["max_iter"]), tol=1e-6')
STACK = "    return np.column_stack([tenure, monthly, total, contract, calls, fiber, churned])"
WITH_SENIOR = (
    "    senior = rng.integers(0, 2, n_samples)\n"
    "    return np.column_stack([tenure, monthly, total, contract, calls, fiber, senior, churned])"
)
NOISY_FIT = (
    "    import os\n"
    "    if os.environ.get('NOISE'):\n"
    "        target = target.copy()\n"
    "        target[:5] = 1 - target[:5]\n"
    "    model.fit(features, target)"
)


def edit(repo, path, old, new):
    file = repo / path
    text = file.read_text()
    assert old in text, (path, old)
    file.write_text(text.replace(old, new, 1))


def retrain(repo, message):
    dvc(repo, "repro", "--quiet")
    return commit_all(repo, message)


def auto(repo):
    result = modelgit.bump(repo, "auto")
    document = metadata.parse(tag_message(repo, result.tag))
    assert document["bump"] == {"level": result.level, "reasons": list(result.reasons)}
    return result


@pytest.fixture(scope="module")
def tolerance_template(registry_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The registry retrained after a training-code edit, not yet committed (two tests commit it
    with different messages)."""
    with template_env(tmp_path_factory):
        root = tmp_path_factory.mktemp("tolerance") / "project"
        shutil.copytree(registry_template, root, symlinks=True)
        edit(root, "pipeline/train.py", *TOLERANCE)
        dvc(root, "repro", "--quiet")
    return root


@pytest.fixture
def tolerance(tolerance_template: Path, tmp_path: Path) -> Path:
    return copy_project(tolerance_template, tmp_path)


def test_first_version_is_minor(project):
    result = auto(project)
    assert (result.version, result.reasons) == ("0.1.0", ("first version",))


@pytest.mark.slow
def test_param_and_data_changes_are_minor(registry):
    change_and_repro(registry, "seed: 42", "seed: 7", "Resample the data")
    result = auto(registry)
    assert result.version == "0.3.0" and result.level == "minor"
    assert "params changed: prepare.seed 42 -> 7" in result.reasons
    assert "data modified: data/train.csv" in result.reasons


def test_training_code_change_is_minor(tolerance):
    commit_all(tolerance, "Tighter tolerance")
    result = auto(tolerance)
    assert result.level == "minor"
    assert result.reasons == ("stage train: code changed: pipeline/train.py",)


def test_a_breaking_change_commit_is_major(tolerance):
    commit_all(tolerance, "Retrain\n\nBREAKING CHANGE: scores are calibrated differently")
    result = auto(tolerance)
    assert result.level == "major"
    assert any(
        r.startswith("breaking change declared in commit ") and "(Retrain)" in r
        for r in result.reasons
    )


@pytest.mark.slow
def test_feature_added_is_minor(registry):
    edit(registry, "pipeline/common.py", '    "has_fiber",\n', '    "has_fiber",\n    "senior",\n')
    edit(registry, "pipeline/prepare.py", STACK, WITH_SENIOR)
    retrain(registry, "Add the senior feature")
    result = auto(registry)
    assert result.level == "minor"
    assert "feature added: senior" in result.reasons


@pytest.mark.slow
@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        ('    "has_fiber",\n', "", "feature removed: has_fiber"),
        ('"support_calls"', '"service_calls"', "feature removed: support_calls"),
        (
            '[{"name": name, "type": "float"} for name in FEATURES]',
            '[{"name": n, "type": "int" if n == "has_fiber" else "float"} for n in FEATURES]',
            "feature type changed: has_fiber float -> int",
        ),
    ],
)
def test_schema_breaks_are_major(registry, old, new, reason):
    path = "pipeline/train.py" if "type" in old else "pipeline/common.py"
    edit(registry, path, old, new)
    edit(registry, "params.yaml", "C: 0.3", "C: 0.25")  # retrained too, so the artifact changes
    retrain(registry, "Change the schema")
    result = auto(registry)
    assert (result.version, result.level) == ("1.0.0", "major")
    assert reason in result.reasons


@pytest.mark.slow
def test_only_the_artifact_changed_is_patch(project, monkeypatch):
    # A training run that is not reproducible (here: a seed from the environment) changes the
    # artifact without any tracked input changing.
    edit(project, "pipeline/train.py", "    model.fit(features, target)", NOISY_FIT)
    retrain(project, "Let the environment perturb training")
    modelgit.bump(project, "minor")
    with monkeypatch.context() as noisy:
        noisy.setenv("NOISE", "1")
        dvc(project, "repro", "--quiet", "--force", "--downstream", "train")
    (project / "README.md").write_text("unrelated\n")
    commit_all(project, "Retrain (unrelated README too)")
    result = auto(project)
    assert (result.version, result.level) == ("0.1.1", "patch")
    assert result.reasons == ("artifact changed; no data, params, code or schema change",)


def test_unchanged_artifact_is_refused(registry):
    with pytest.raises(AlreadyRegisteredError):
        modelgit.bump(registry, "auto")


def test_explain_prints_the_decision_and_tags_nothing(retrained):
    result = CliRunner().invoke(app, ["bump", "auto", "--explain", "-C", str(retrained)])
    assert result.exit_code == 0
    assert (
        result.stdout
        == "minor bump: churn@v0.3.0 (previous: v0.2.0)\n  - params changed: train.C 0.3 -> 0.25\n"
    )
    plan = modelgit.bump(retrained, modelgit.BumpRequest(level="auto", explain=True))
    assert (plan.level, plan.reasons) == ("minor", ("params changed: train.C 0.3 -> 0.25",))
    assert "churn@v0.3.0" not in git(retrained, "tag", "--list")
