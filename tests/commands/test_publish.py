"""publish: a version's bytes, md5-checked and write-once, at a readable place in the remote."""

from __future__ import annotations

import hashlib
import json

import pytest
from conftest import add_s3_remote, commit_all, dvc, s3_client
from typer.testing import CliRunner

import modelgit
from modelgit.cli.app import app
from modelgit.errors import MissingPluginError, PublishCheckError, PublishConflictError

runner = CliRunner()


def test_publish_copies_the_artifact_beside_its_descriptor(s3_registry, s3_server):
    repo, bucket = s3_registry
    result = modelgit.publish(repo, "churn@v0.2.0")
    md5 = modelgit.show(repo, "churn@v0.2.0").metadata["artifact"]["md5"]
    assert result.uri == f"s3://{bucket}/dvcstore/modelgit/churn/v0.2.0"
    assert result.artifact_uri == f"{result.uri}/churn.pkl"
    assert result.copied and [(f.path, f.md5) for f in result.files] == [("churn.pkl", md5)]
    client = s3_client(s3_server)
    body = client.get_object(Bucket=bucket, Key="dvcstore/modelgit/churn/v0.2.0/churn.pkl")
    assert hashlib.md5(body["Body"].read()).hexdigest() == md5
    raw = client.get_object(Bucket=bucket, Key="dvcstore/modelgit/churn/v0.2.0/modelgit.json")
    descriptor = json.loads(raw["Body"].read())
    assert descriptor["tag"] == "churn@v0.2.0"
    assert descriptor["artifact"]["md5"] == md5 and descriptor["artifact"]["name"] == "churn.pkl"
    assert descriptor["commit"] == modelgit.show(repo, "churn@v0.2.0").commit
    # Identical bytes already there: nothing to do.
    again = modelgit.publish(repo, "churn@v0.2.0")
    assert not again.copied and again.uri == result.uri


def test_publish_reads_the_remote_when_the_cache_is_empty_and_json_prints_the_uri(s3_registry):
    repo, bucket = s3_registry
    import shutil

    shutil.rmtree(repo / ".dvc" / "cache")
    printed = runner.invoke(app, ["publish", "churn@v0.1.0", "--json", "-C", str(repo)])
    assert printed.exit_code == 0, printed.output
    document = json.loads(printed.stdout)
    assert document["uri"] == f"s3://{bucket}/dvcstore/modelgit/churn/v0.1.0"
    assert document["copied"] is True


def test_publish_refuses_different_bytes_at_the_published_place(s3_registry, s3_server):
    repo, bucket = s3_registry
    key = "dvcstore/modelgit/churn/v0.2.0/churn.pkl"
    s3_client(s3_server).put_object(Bucket=bucket, Key=key, Body=b"someone else's model")
    with pytest.raises(PublishConflictError, match="already holds different bytes"):
        modelgit.publish(repo, "churn@v0.2.0")
    result = runner.invoke(app, ["publish", "churn@v0.2.0", "-C", str(repo)])
    assert result.exit_code == 2 and "write-once" in result.stderr
    body = s3_client(s3_server).get_object(Bucket=bucket, Key=key)["Body"].read()
    assert body == b"someone else's model"  # nothing lost


def test_publish_refuses_a_tampered_remote_object(s3_registry, s3_server):
    repo, bucket = s3_registry
    import shutil

    shutil.rmtree(repo / ".dvc" / "cache")
    md5 = modelgit.show(repo, "churn@v0.2.0").metadata["artifact"]["md5"]
    key = f"dvcstore/files/md5/{md5[:2]}/{md5[2:]}"
    s3_client(s3_server).put_object(Bucket=bucket, Key=key, Body=b"tampered")
    with pytest.raises(PublishCheckError, match="hashes to"):
        modelgit.publish(repo, "churn@v0.2.0")
    listed = s3_client(s3_server).list_objects_v2(Bucket=bucket, Prefix="dvcstore/modelgit/")
    assert listed.get("KeyCount", 0) == 0


def test_a_directory_artifact_keeps_its_tree(project, s3_server, monkeypatch):
    from conftest import new_bucket, s3_credentials

    environ: dict[str, str] = {}
    s3_credentials(environ)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    (project / "bundle" / "nested").mkdir(parents=True)
    (project / "bundle" / "weights.bin").write_bytes(b"model bytes")
    (project / "bundle" / "nested" / "vocab.txt").write_text("a\nb\n")
    dvc(project, "add", "--quiet", "bundle")
    text = (project / "dvc.yaml").read_text()
    (project / "dvc.yaml").write_text(text + "  bundle:\n    path: bundle\n    type: model\n")
    bucket = new_bucket(s3_server)
    add_s3_remote(project, s3_server, bucket)
    commit_all(project, "A directory model")
    dvc(project, "push", "--quiet")
    modelgit.bump(project, "minor", "bundle")
    result = modelgit.publish(project, "bundle@v0.1.0")
    assert sorted(f.path for f in result.files) == [
        "bundle/nested/vocab.txt",
        "bundle/weights.bin",
    ]
    client = s3_client(s3_server)
    keys = sorted(
        o["Key"]
        for o in client.list_objects_v2(Bucket=bucket, Prefix="dvcstore/modelgit/")["Contents"]
    )
    assert keys == [
        "dvcstore/modelgit/bundle/v0.1.0/bundle/nested/vocab.txt",
        "dvcstore/modelgit/bundle/v0.1.0/bundle/weights.bin",
        "dvcstore/modelgit/bundle/v0.1.0/modelgit.json",
    ]


def test_a_missing_plugin_is_one_line_naming_the_extra(registry):
    dvc(registry, "remote", "add", "-d", "gcs", "gs://bucket/store")
    with pytest.raises(MissingPluginError, match=r"pip install 'modelgit\[gs\]'"):
        modelgit.publish(registry, "churn@v0.2.0")
    result = runner.invoke(app, ["publish", "churn@v0.2.0", "-C", str(registry)])
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0 and "modelgit[gs]" in result.stderr


def test_no_remote_is_one_whole_sentence(registry):
    result = runner.invoke(app, ["publish", "churn@v0.2.0", "-C", str(registry)])
    assert result.exit_code == 2
    assert result.stderr == (
        "error: the project has no default DVC remote; add one with `dvc remote add -d NAME URL`\n"
    )
