"""`scan` and bump's refusal of pickles that import globals off the allow-list, through the
public API and the CLI; the project's own allow-list; verdicts cached by the artifact's md5."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import Payload, commit_all, dvc
from typer.testing import CliRunner

import modelgit
from modelgit.cli.app import app
from modelgit.errors import ConfigError, InputError, UnsafePickleError

runner = CliRunner()
# An instance of a project's own class, as protocol 2 pickles it (the class is never imported).
PROJECT_OBJECT = (
    b"\x80\x02cmypkg.models\nChurn\nq\x00)\x81q\x01}q\x02X\x01\x00\x00\x00Cq\x03K\x01sb."
)


def test_scanning_a_plain_model_directory_passes(project):
    scanned = modelgit.scan([project / "models"])
    assert scanned.safe and scanned.findings == ()
    assert scanned.files == (str(project / "models" / "churn.pkl"),)
    result = runner.invoke(app, ["scan", str(project / "models")])
    assert result.exit_code == 0 and result.stdout == "no unknown globals in 1 file\n"
    as_json = json.loads(runner.invoke(app, ["scan", "--json", str(project / "models")]).stdout)
    assert as_json == {
        "safe": True,
        "paths": [str(project / "models")],
        "files": [str(project / "models" / "churn.pkl")],
        "allowed": [],
        "findings": [],
    }
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
        match=r"^models/evil\.pkl: unknown global posix\.system; refusing to register it",
    ):
        modelgit.bump(project, "minor", "evil")
    result = runner.invoke(app, ["bump", "minor", "evil", "-C", str(project)])
    assert result.exit_code == 2 and "--allow-unsafe-pickle" in result.stderr
    scanned = runner.invoke(app, ["scan", str(evil)])
    assert scanned.exit_code == 1
    assert scanned.stdout == f"{evil}: unknown global posix.system\n"
    # The command's own -C takes PATHs from DIR, as `modelgit -C DIR scan` does.
    relative = runner.invoke(app, ["scan", "-C", str(project), str(evil.relative_to(project))])
    assert relative.exit_code == 1
    assert relative.stdout == "models/evil.pkl: unknown global posix.system\n"
    assert scanned.stderr == "error: 1 finding(s): do not load these files\n"
    [finding] = modelgit.scan([evil]).findings
    assert (finding.module, finding.name) == ("posix", "system")
    allowed = modelgit.BumpRequest("minor", "evil", allow_unsafe_pickle=True)
    assert modelgit.bump(project, allowed).tag == "evil@v0.1.0"
    assert modelgit.bump(project, "minor", "churn").tag == "churn@v0.1.0"
    assert not marker.exists()


def test_a_project_allows_its_own_classes_in_modelgit_yaml(project):
    model = project / "models" / "custom.pkl"
    model.write_bytes(PROJECT_OBJECT)
    refused = runner.invoke(app, ["scan", str(model)])
    assert refused.exit_code == 1 and "unknown global mypkg.models.Churn" in refused.stdout
    assert runner.invoke(app, ["scan", "--allow", "mypkg.*", str(model)]).exit_code == 0
    (project / ".modelgit.yaml").write_text("scan:\n  allow: [mypkg.models.Churn]\n")
    scanned = modelgit.scan([model])  # the repository holding the file gives the allow-list
    assert scanned.safe and scanned.allowed == ("mypkg.models.Churn",)
    assert runner.invoke(app, ["scan", str(model)]).exit_code == 0
    (project / ".modelgit.yaml").write_text("scan:\n  allow: [os system]\n")
    with pytest.raises(ConfigError, match=r"must be MODULE\.NAME or PACKAGE"):
        modelgit.scan([model])
    result = runner.invoke(app, ["scan", str(model)])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1


def test_a_second_bump_of_the_same_bytes_scans_nothing(project):
    dry = modelgit.BumpRequest("minor", "churn", dry_run=True)
    assert modelgit.bump(project, dry).tag == "churn@v0.1.0"
    cache = project / ".git" / "modelgit" / "pickle-verdicts-v1.json"
    [(key, verdict)] = json.loads(cache.read_text()).items()
    md5 = yaml.safe_load((project / "dvc.lock").read_text())["stages"]["train"]["outs"][0]["md5"]
    assert key.startswith(f"{md5}:") and verdict == []
    # Plant a verdict: a bump that read it instead of scanning refuses with its words.
    cache.write_text(json.dumps({key: [["", "planted", "Verdict", "unknown global"]]}))
    with pytest.raises(UnsafePickleError, match=r"unknown global planted\.Verdict"):
        modelgit.bump(project, dry)
    # Another allow-list is another question: scanned afresh.
    (project / ".modelgit.yaml").write_text("scan:\n  allow: [mypkg.*]\n")
    commit_all(project, "Trust mypkg")
    assert modelgit.bump(project, dry).tag == "churn@v0.1.0"


@pytest.mark.skipif(not Path("/proc/self/io").is_file(), reason="Linux's per-process counters")
def test_bump_of_a_large_artifact_reads_only_its_pickle_opcodes(tmp_path, monkeypatch):
    """The md5 comes from dvc.lock and the scan seeks over array payloads: the whole `bump`
    process (imports, git, DVC's status, the scan) reads far fewer bytes than the artifact has."""
    monkeypatch.syspath_prepend(str(Path(__file__).parents[2] / "bench"))
    from scale_projects import artifact

    root = tmp_path / "large"
    artifact(root, 96 * 2**20)
    size = (root / "models" / "model.joblib").stat().st_size
    dvc(root, "status")  # DVC hashes a file it has not seen once; bump then reads its state
    report = subprocess.run(
        [sys.executable, "-c", "import modelgit, sys; r = modelgit.bump(sys.argv[1], 'minor'); "
         "print(r.metadata['artifact']['md5']); print(open('/proc/self/io').read())", str(root)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    md5, counters = report.split("\n", 1)
    read = int(next(line for line in counters.splitlines() if line.startswith("rchar:")).split()[1])
    lock = yaml.safe_load((root / "dvc.lock").read_text())
    assert md5 == lock["stages"]["train"]["outs"][0]["md5"]
    assert read < size / 4, f"bump read {read:,} bytes of a {size:,}-byte artifact's project"
    cache = json.loads((root / ".git" / "modelgit" / "pickle-verdicts-v1.json").read_text())
    assert [key.split(":")[0] for key in cache] == [md5]  # scanned once, remembered by md5
