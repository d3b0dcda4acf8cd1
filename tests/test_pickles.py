"""Unsafe pickles are found without being loaded; bump refuses them; plain models pass."""

from __future__ import annotations

import os
import pickle
import zipfile

import pytest
import yaml
from conftest import commit_all, dvc
from typer.testing import CliRunner

import modelgit
from modelgit.cli.app import app
from modelgit.errors import UnsafePickleError
from modelgit.model.pickles import scan

runner = CliRunner()


class Payload:
    """Runs a shell command when unpickled."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def test_a_plain_scikit_learn_model_passes(project):
    assert scan(project / "models" / "churn.pkl") == []
    result = runner.invoke(app, ["scan", str(project / "models")])
    assert result.exit_code == 0 and result.stdout == "no unsafe globals found\n"


@pytest.mark.parametrize("form", ["pickle", "joblib", "joblib-compressed", "torch-zip"])
def test_malicious_payloads_are_found_in_every_form(tmp_path, form):
    import joblib
    import numpy as np

    marker = tmp_path / "pwned"
    payload = {"weights": np.arange(1000), "hook": Payload(f"touch {marker}")}
    path = tmp_path / "model.bin"
    if form == "pickle":
        path.write_bytes(pickle.dumps(payload))
    elif form == "joblib":
        joblib.dump(payload, path)
    elif form == "joblib-compressed":
        joblib.dump(payload, path, compress=3)
    else:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("model/data.pkl", pickle.dumps(payload))
            archive.writestr("model/version", "3\n")
    [finding] = scan(path)
    assert (finding.module, finding.name) == ("posix", "system")
    assert not marker.exists()  # scanning never executes the pickle


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
    assert modelgit.bump(project, "minor", "evil", allow_unsafe_pickle=True).tag == "evil@v0.1.0"
    assert modelgit.bump(project, "minor", "churn").tag == "churn@v0.1.0"
    assert not marker.exists()
