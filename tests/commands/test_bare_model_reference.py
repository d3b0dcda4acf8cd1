"""A bare MODEL names its latest version in every command of the one reference syntax (README,
`One reference syntax`), `diff` included; a name that is a model and a git revision is refused."""

from __future__ import annotations

import json

import pytest
from conftest import git
from typer.testing import CliRunner

import modelgit
from modelgit.cli.app import app
from modelgit.errors import AmbiguousReferenceError, UnknownVersionError

runner = CliRunner()


def run(repo, *args):
    return runner.invoke(app, [*args, "-C", str(repo)])


def test_diff_takes_a_bare_model_as_its_latest_version(registry):
    bare = run(registry, "diff", "churn@v0.1.0", "churn")
    named = run(registry, "diff", "churn@v0.1.0", "churn@v0.2.0")
    assert (bare.exit_code, named.exit_code) == (0, 0), bare.output
    assert bare.stdout == named.stdout
    assert "train.C" in bare.stdout
    comparison = modelgit.diff(registry, "churn").comparisons[0]
    assert (comparison.a.label, comparison.b.label) == ("churn@v0.2.0", "workspace")
    assert comparison.a.commit == git(registry, "rev-parse", "churn@v0.2.0^{commit}").strip()


@pytest.mark.parametrize("kind", ["heads", "tags"])
def test_a_model_that_is_also_a_git_revision_is_refused(registry, kind):
    # As `git diff NAME` refuses a NAME that is both a revision and a path, naming both spellings.
    git(registry, "branch" if kind == "heads" else "tag", "churn", "churn@v0.1.0^{commit}")
    result = run(registry, "diff", "churn@v0.1.0", "churn")
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: 'churn' is both a model and a git revision (refs/{kind}/churn); write "
        f"churn@latest for the model's latest version or refs/{kind}/churn for the revision\n"
    )
    with pytest.raises(AmbiguousReferenceError):
        modelgit.diff(registry, "churn")
    as_model = modelgit.diff(registry, "churn@v0.1.0", "churn@latest").comparisons[0]
    assert as_model.b.label == "churn@v0.2.0" and as_model.changed
    as_revision = modelgit.diff(registry, "churn@v0.1.0", f"refs/{kind}/churn").comparisons[0]
    assert as_revision.b.label == f"refs/{kind}/churn" and not as_revision.changed


def test_an_unknown_name_suggests_the_model(registry):
    result = run(registry, "diff", "chrun")
    assert result.exit_code == 2
    assert result.stderr == (
        "error: 'chrun' is not a version (model@vX.Y.Z), a stage (model#stage), a model "
        "(churn), a git revision or `workspace` (did you mean churn?)\n"
    )
    with pytest.raises(UnknownVersionError):
        modelgit.diff(registry, "no-such-branch")


@pytest.mark.parametrize(
    "command",
    [
        ["show"],
        ["card"],
        ["verify"],
        ["lineage"],
        ["manifest", "--strategy", "bluegreen", "--image", "registry.example/{model}:{version}"],
    ],
    ids=lambda command: command[0],
)
def test_reading_commands_take_a_bare_model_as_its_latest_version(registry, command):
    bare = run(registry, command[0], "churn", *command[1:])
    named = run(registry, command[0], "churn@v0.2.0", *command[1:])
    assert (bare.exit_code, named.exit_code) == (0, 0), bare.output
    assert bare.stdout == named.stdout


def test_get_takes_a_bare_model_as_its_latest_version(registry, tmp_path):
    bare = run(registry, "get", "churn", "--out", str(tmp_path / "bare"), "--json")
    assert bare.exit_code == 0, bare.output
    assert json.loads(bare.stdout)["tag"] == "churn@v0.2.0"
