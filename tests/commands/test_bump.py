"""`bump` on a real git + DVC project: what it records, and everything it refuses."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
import yaml
from conftest import commit_all, git, set_param, tag_message

import modelgit
from modelgit.errors import (
    AlreadyRegisteredError,
    DirtyWorkspaceError,
    NoCommitsError,
    NotADvcProjectError,
    NotAGitRepoError,
    StalePipelineError,
    UnknownModelError,
    VersionOrderError,
)
from modelgit.registry import metadata


def test_bump_records_what_dvc_lock_and_the_pipeline_say(project):
    result = modelgit.bump(project, "minor")
    assert result.tag == "churn@v0.1.0" and result.previous is None
    assert git(project, "cat-file", "-t", "churn@v0.1.0").strip() == "tag"  # annotated
    assert git(project, "rev-parse", "churn@v0.1.0^{commit}").strip() == result.commit
    document = metadata.parse(tag_message(project, "churn@v0.1.0"))
    lock = yaml.safe_load((project / "dvc.lock").read_text())
    outs = {o["path"]: o for o in lock["stages"]["train"]["outs"]}
    assert document["artifact"] == {
        "path": "models/churn.pkl",
        "hash": "md5",
        "md5": outs["models/churn.pkl"]["md5"],
        "size": outs["models/churn.pkl"]["size"],
    }
    train_csv = next(d for d in lock["stages"]["train"]["deps"] if d["path"] == "data/train.csv")
    assert document["data"] == [
        {"path": "data/train.csv", "md5": train_csv["md5"], "size": train_csv["size"]}
    ]
    assert document["stages"] == ["prepare", "train"]
    assert document["params"] == {
        "prepare.n_samples": 2000,
        "prepare.seed": 42,
        "prepare.test_size": 0.25,
        "train.C": 1.0,
        "train.max_iter": 200,
    }
    assert document["metrics"] == json.loads((project / "metrics.json").read_text())
    schema = json.loads((project / "models/schema.json").read_text())
    assert document["features"] == [f["name"] for f in schema["inputs"]]
    assert document["schema_signature"] == schema
    assert document["environment"]["packages"]["scikit-learn"] != "not installed"
    assert document["created_by"] == "Test User <test@example.com>"
    assert document["commit"] == result.commit
    assert document["bump"] == {"level": "minor", "reasons": []}
    assert document["fingerprint"] == metadata.fingerprint(
        document["artifact"]["md5"], document["params"], document["data"]
    )
    assert tag_message(project, "churn@v0.1.0").startswith("churn v0.1.0: minor bump, accuracy ")


def test_second_bump_follows_the_first_and_names_it(registry):
    document = metadata.parse(tag_message(registry, "churn@v0.2.0"))
    assert document["previous"] == "0.1.0"
    assert document["params"]["train.C"] == 0.3
    first = metadata.parse(tag_message(registry, "churn@v0.1.0"))
    assert document["artifact"]["md5"] != first["artifact"]["md5"]
    subject = tag_message(registry, "churn@v0.2.0").splitlines()[0]
    assert subject == (
        f"churn v0.2.0: minor bump, accuracy {first['metrics']['accuracy']} -> "
        f"{document['metrics']['accuracy']}"
    )


@pytest.mark.parametrize(
    ("part", "expected"), [("major", "1.0.0"), ("minor", "0.1.0"), ("patch", "0.1.0")]
)
def test_first_versions(project, part, expected):
    assert modelgit.bump(project, part).version == expected


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        (modelgit.BumpRequest("patch"), "0.2.1"),
        (modelgit.BumpRequest(modelgit.Level.MAJOR), "1.0.0"),
        (modelgit.BumpRequest("minor", version="v2.5.0-rc.1"), "2.5.0-rc.1"),
    ],
)
def test_levels_and_explicit_version_follow_the_latest(retrained, request_, expected):
    result = modelgit.bump(retrained, request_)
    assert (result.previous, result.version) == ("0.2.0", expected)
    tagged = git(retrained, "rev-parse", f"churn@v{expected}^{{commit}}").strip()
    assert tagged == result.commit == git(retrained, "rev-parse", "HEAD").strip()


def test_dry_run_and_message(project):
    request = modelgit.BumpRequest("minor", dry_run=True, message="first release\nignored")
    result = modelgit.bump(project, request)
    assert result.dry_run and result.message.startswith("churn v0.1.0: first release\n\n")
    assert git(project, "tag", "--list").strip() == ""


def test_refuses_an_artifact_already_registered(registry):
    with pytest.raises(AlreadyRegisteredError, match=r"already registered as v0\.2\.0"):
        modelgit.bump(registry, "minor")


@pytest.mark.parametrize(
    ("path", "edit"),
    [
        ("params.yaml", lambda p: p.write_text(p.read_text() + "# note\n")),
        ("pipeline/train.py", lambda p: p.write_text(p.read_text() + "\n# tweak\n")),
        ("pipeline/common.py", lambda p: p.write_text(p.read_text() + "\n")),
        ("dvc.yaml", lambda p: p.write_text(p.read_text() + "\n")),
        ("dvc.lock", lambda p: p.write_text(p.read_text() + "\n")),
        ("data.dvc", lambda p: p.write_text("outs:\n- path: data\n")),
    ],
)
def test_refuses_uncommitted_changes_to_what_the_model_depends_on(retrained, path, edit):
    edit(retrained / path)
    with pytest.raises(DirtyWorkspaceError, match=f"uncommitted changes to {path} "):
        modelgit.bump(retrained, "minor")


def test_unrelated_uncommitted_files_do_not_block(retrained):
    (retrained / "notes.txt").write_text("scratch\n")
    assert modelgit.bump(retrained, "minor").version == "0.3.0"


def test_refuses_a_stale_pipeline(registry):
    set_param(registry, "C: 0.3", "C: 0.9")
    commit_all(registry, "Change a param but forget dvc repro")
    with pytest.raises(StalePipelineError, match=r"\(train: changed deps: params\.yaml.*dvc repro"):
        modelgit.bump(registry, "minor")


def test_refuses_an_artifact_that_differs_from_dvc_lock(retrained):
    model = retrained / "models/churn.pkl"
    model.unlink()
    model.write_bytes(b"not the model dvc.lock records")
    with pytest.raises(StalePipelineError, match=r"models/churn\.pkl \(modified\)"):
        modelgit.bump(retrained, "minor")


def test_refuses_versions_not_greater_and_existing_tags(retrained):
    with pytest.raises(VersionOrderError, match=r"0\.1\.5 is not greater than the latest, 0\.2\.0"):
        modelgit.bump(retrained, modelgit.BumpRequest(version="0.1.5"))
    # v0.3.0 deregistered (GTO's cancel form): its tag still exists and is never reused.
    git(retrained, "tag", "-a", "-m", "Registering", "churn@v0.3.0", "HEAD~1")
    git(retrained, "tag", "-a", "-m", "Deregistering", "churn@v0.3.0!", "HEAD~1")
    # Issue 10 case 5: the next version follows the highest ever tagged, not "tag exists".
    with pytest.raises(VersionOrderError, match=r"highest ever tagged \(deprecated\), 0\.3\.0"):
        modelgit.bump(retrained, modelgit.BumpRequest(version="0.3.0"))
    assert modelgit.bump(retrained, "minor").tag == "churn@v0.4.0"


def test_refuses_unknown_and_ambiguous_models(project):
    with pytest.raises(UnknownModelError, match="unknown model 'nope'; known models: churn"):
        modelgit.bump(project, "minor", "nope")
    document = yaml.safe_load((project / "dvc.yaml").read_text())
    document["artifacts"]["churn-copy"] = dict(document["artifacts"]["churn"])
    (project / "dvc.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    commit_all(project, "Declare a second model")
    with pytest.raises(
        UnknownModelError, match=r"several models are declared \(churn, churn-copy\)"
    ):
        modelgit.bump(project, "minor")
    assert modelgit.bump(project, "minor", "churn").tag == "churn@v0.1.0"


def test_refuses_non_repos_empty_repos_and_non_dvc_repos(tmp_path, project):
    with pytest.raises(NotAGitRepoError):
        modelgit.bump(tmp_path, "minor")
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "--quiet")
    with pytest.raises(NoCommitsError, match="no commits"):
        modelgit.bump(empty, "minor")
    shutil.rmtree(project / ".dvc")
    commit_all(project, "Drop DVC")
    with pytest.raises(NotADvcProjectError, match="dvc init"):
        modelgit.bump(project, "minor")


def test_monorepo_models_are_folder_qualified(project):
    sub = project / "nlp"
    sub.mkdir()
    for name in ("dvc.yaml", "params.yaml", "pipeline"):
        source = project / name
        if source.is_dir():
            shutil.copytree(source, sub / name)
        else:
            shutil.copy(source, sub / name)
    document = yaml.safe_load((sub / "dvc.yaml").read_text())
    document["artifacts"] = {"intent": document["artifacts"]["churn"]}
    (sub / "dvc.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    (sub / "requirements.txt").write_text("pyyaml\n")
    # Same stages, code and params as the root pipeline, so `dvc repro` in nlp/ would write
    # exactly the root's outputs and lock (its paths are relative to dvc.yaml): copy them.
    for name in ("dvc.lock", "metrics.json", "data", "models"):
        source = project / name
        if source.is_dir():
            shutil.copytree(source, sub / name)
        else:
            shutil.copy(source, sub / name)
    commit_all(project, "A second pipeline in nlp/")
    result = modelgit.bump(project, "minor", "nlp:intent")
    assert result.tag == "nlp=intent@v0.1.0"
    document = metadata.parse(tag_message(project, "nlp=intent@v0.1.0"))
    assert document["model"] == "nlp:intent"
    assert document["artifact"]["path"] == "nlp/models/churn.pkl"
    assert document["data"][0]["path"] == "nlp/data/train.csv"
    assert document["params"]["train.C"] == 1.0
    assert list(document["environment"]["packages"]) == ["pyyaml"]
    assert modelgit.bump(project, "minor", "churn").tag == "churn@v0.1.0"
    assert [m.name for m in modelgit.list_models(project)] == ["churn", "nlp:intent"]


def test_push_sends_only_the_new_tag(retrained, tmp_path):
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "--quiet", "--bare", str(origin))
    git(retrained, "remote", "add", "origin", str(origin))
    result = modelgit.bump(retrained, modelgit.BumpRequest(push=True))
    assert result.pushed_to == "origin"
    assert git(origin, "tag", "--list").split() == ["churn@v0.3.0"]


def test_sign_signs_the_tag_with_the_configured_key(retrained, tmp_path):
    key = tmp_path / "key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", str(key)], check=True
    )
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"test@example.com {key.with_suffix('.pub').read_text()}")
    git(retrained, "config", "gpg.format", "ssh")
    git(retrained, "config", "user.signingkey", str(key))
    git(retrained, "config", "gpg.ssh.allowedSignersFile", str(allowed))
    result = modelgit.bump(retrained, modelgit.BumpRequest(sign=True))
    assert "-----BEGIN SSH SIGNATURE-----" in git(retrained, "cat-file", "-p", result.tag)
    verified = subprocess.run(
        ["git", "tag", "-v", result.tag], cwd=retrained, capture_output=True, text=True
    )
    assert verified.returncode == 0 and "Good" in verified.stderr, verified.stderr
    # The signed tag still carries the metadata document, and reads back as signed.
    shown = modelgit.show(retrained, result.tag)
    assert (shown.signed, shown.derived, shown.problem) == (True, False, None)
    assert shown.metadata["params"]["train.C"] == 0.25
    assert not modelgit.show(retrained, "churn@v0.2.0").signed


@pytest.mark.slow
def test_racing_bumps_never_create_a_version_twice(retrained):
    command = [sys.executable, "-m", "modelgit", "bump", "minor", "-C", str(retrained)]
    processes = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    results = [(p.wait(timeout=120), *p.communicate()) for p in processes]
    winners = [r for r in results if r[0] == 0]
    assert len(winners) == 1, results
    for code, _, stderr in results:
        if code != 0:
            assert code == 2
            assert stderr.count("\n") == 1 and stderr.startswith("error: ")
            assert "already registered as v0.3.0" in stderr or "already exists" in stderr
    tags = git(retrained, "tag", "--list", "churn@*").split()
    assert tags == ["churn@v0.1.0", "churn@v0.2.0", "churn@v0.3.0"]
    assert metadata.parse(tag_message(retrained, "churn@v0.3.0"))["params"]["train.C"] == 0.25


def test_metrics_belong_to_the_models_their_stages_read(project):
    # `train` writes both models/churn.pkl and models/schema.json; only churn.pkl is read by
    # `evaluate`, so evaluate's metrics describe churn and not a model declared on the schema.
    dvc_yaml = project / "dvc.yaml"
    dvc_yaml.write_text(
        dvc_yaml.read_text() + "  schema:\n    path: models/schema.json\n    type: model\n"
    )
    commit_all(project, "Declare the schema file as a model too")
    schema = modelgit.bump(project, "minor", "schema")
    churn = modelgit.bump(project, "minor", "churn")
    assert schema.metadata["metrics"] == {}
    assert set(churn.metadata["metrics"]) >= {"accuracy", "f1"}
