"""`modelgit unassign MODEL#STAGE` (GTO's `<name>#<stage>!#<N>`), the labels of an unknown
version, an empty reference, and `list`'s column for every stage in effect."""

from __future__ import annotations

import json

import pytest
from conftest import git
from typer.testing import CliRunner

import modelgit
from modelgit.cli.app import app
from modelgit.errors import InvalidNameError, UnknownVersionError

runner = CliRunner()


def run(repo, *args: str, code: int = 0):
    result = runner.invoke(app, [*args, "-C", str(repo)])
    assert result.exit_code == code, result.output
    return result


def test_unassign_takes_a_stage_back_and_pushes_it(registry, tmp_path):
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "--quiet", "--bare", str(origin))
    git(registry, "remote", "add", "origin", str(origin))
    modelgit.promote(registry, "churn", "0.1.0", "production")
    modelgit.promote(registry, "churn", "0.2.0", "production")
    said = run(registry, "unassign", "churn#production", "--push").stdout
    assert said.splitlines() == [
        "created churn#production!#3: v0.2.0 leaves production; production now holds v0.1.0",
        "pushed churn#production!#3 to origin",
    ]
    assert "churn#production!#3" in git(origin, "tag", "--list")
    change = json.loads(run(registry, "unassign", "churn#production", "--json").stdout)
    assert (change["tag"], change["previous"], change["version"]) == (
        "churn#production!#4", "0.1.0", None,
    )  # fmt: skip
    assert modelgit.list_models(registry)[0].stages == {"staging": None, "production": None}
    assert run(registry, "unassign", "churn#production").stdout == "production holds nothing\n"
    refused = run(registry, "unassign", "churn", code=2)
    assert refused.stderr == "error: unassign needs a stage: MODEL#STAGE, e.g. churn#production\n"


def test_list_has_a_column_for_every_configured_stage(registry):
    (registry / ".modelgit.yaml").write_text("stages: [dev, staging, production]\n")
    modelgit.promote(registry, "churn", "0.2.0", "production")
    [listed] = json.loads(run(registry, "list", "--json").stdout)
    assert listed["stages"] == {"dev": None, "staging": None, "production": "0.2.0"}
    header, row = run(registry, "list", "--plain").stdout.splitlines()
    assert header.split() == ["model", "latest", "dev", "staging", "production"]
    assert row.split() == ["churn", "v0.2.0", "-", "-", "v0.2.0"]


def test_unknown_versions_are_labelled_and_empty_references_refused(registry):
    with pytest.raises(UnknownVersionError) as raised:
        modelgit.show(registry, "churn@v9.9.9")
    assert str(raised.value) == "churn has no version 9.9.9 (versions: 0.1.0, 0.2.0)"
    with pytest.raises(InvalidNameError, match="an empty reference names nothing"):
        modelgit.show(registry, "")
    assert run(registry, "show", "", code=2).stderr.startswith("error: an empty reference")
    assert run(registry, "verify", "", code=2).stderr.startswith("error: an empty reference")
