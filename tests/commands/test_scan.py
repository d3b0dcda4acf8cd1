"""`scan` and bump's refusal of unsafe pickles, through the public API and the CLI."""

from __future__ import annotations

import pickle

import pytest
import yaml
from conftest import Payload, commit_all, dvc
from typer.testing import CliRunner

import modelgit
from modelgit.cli.app import app
from modelgit.errors import InputError, UnsafePickleError

runner = CliRunner()


def test_scanning_a_plain_model_directory_passes(project):
    scanned = modelgit.scan([project / "models"])
    assert scanned.safe and scanned.findings == ()
    result = runner.invoke(app, ["scan", str(project / "models")])
    assert result.exit_code == 0 and result.stdout == "no unsafe globals found\n"
    with pytest.raises(InputError, match="does not exist"):
        modelgit.scan([project / "models" / "nothing.pkl"])


def test_bump_refuses_an_unsafe_pickle_unless_allowed(project, tmp_path):
    marker = tmp_path / "pwned"
    evil = project / "models" / "evil.pkl"
    evil.write_bytes(pickle.dumps(Payload(f"touch {marker}")))
    dvc(project, "add", "--quiet", "models/evil.pkl")
    document = yaml.safe_load((project / "dvc.yaml").read_text())
    document["artifacts"]["evil"] = {"path": "models/evil.pkl", "type": "model"}
    (project / "dvc.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    commit_all(project, "Register an untrusted pickle")
    with pytest.raises(
        UnsafePickleError,
        match=r"evil\.pkl imports globals that execute code on load \(posix\.system\)",
    ):
        modelgit.bump(project, "minor", "evil")
    result = runner.invoke(app, ["bump", "minor", "evil", "-C", str(project)])
    assert result.exit_code == 2 and "--allow-unsafe-pickle" in result.stderr
    scanned = runner.invoke(app, ["scan", str(evil)])
    assert scanned.exit_code == 1 and "imports posix.system" in scanned.stdout
    assert scanned.stderr == "error: 1 unsafe global(s) found\n"
    [finding] = modelgit.scan([evil]).findings
    assert (finding.module, finding.name) == ("posix", "system")
    allowed = modelgit.BumpRequest("minor", "evil", allow_unsafe_pickle=True)
    assert modelgit.bump(project, allowed).tag == "evil@v0.1.0"
    assert modelgit.bump(project, "minor", "churn").tag == "churn@v0.1.0"
    assert not marker.exists()
