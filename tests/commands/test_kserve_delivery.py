"""KServe that loads: storageUri names the published directory, and KServe's own storage code
(the `kserve-storage` package, what its storage initializer runs) downloads a model from it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml
from conftest import dvc
from typer.testing import CliRunner

import modelgit
from modelgit.cli.app import app
from modelgit.errors import ManifestError

runner = CliRunner()
# KServe's scikit-learn server loads the one file with these extensions in its model directory
# (kserve/python/sklearnserver/sklearnserver/model.py, MODEL_EXTENSIONS).
SKLEARN_SERVER_EXTENSIONS = (".joblib", ".pkl", ".pickle")


def kserve(repo: Path, reference: str, **options) -> dict:
    request = modelgit.ManifestRequest(reference, "kserve", **options)
    result = modelgit.manifest(repo, request)
    [service] = yaml.safe_load_all(result.files["inferenceservice.yaml"])
    return service


def test_storage_uri_is_the_published_directory_with_credentials_and_runtime(s3_registry):
    repo, bucket = s3_registry
    service = kserve(repo, "churn@v0.2.0", service_account="models-reader", validate=True)
    predictor = service["spec"]["predictor"]
    assert predictor["model"]["storageUri"] == f"s3://{bucket}/dvcstore/modelgit/churn/v0.2.0"
    assert predictor["serviceAccountName"] == "models-reader"
    environment = modelgit.show(repo, "churn@v0.2.0").metadata["environment"]
    major = environment["packages"]["scikit-learn"].split(".")[0]
    assert predictor["model"]["modelFormat"] == {"name": "sklearn", "version": major}


def test_kserve_downloads_a_model_its_sklearn_server_loads(s3_registry, s3_server, tmp_path,
                                                           monkeypatch):  # fmt: skip
    from kserve_storage import Storage

    repo, _ = s3_registry
    modelgit.publish(repo, "churn@v0.2.0")
    uri = kserve(repo, "churn@v0.2.0")["spec"]["predictor"]["model"]["storageUri"]
    # What KServe's S3 secret puts into the storage initializer's environment.
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server)
    monkeypatch.setenv("S3_VERIFY_SSL", "0")
    target = tmp_path / "mnt-models"
    target.mkdir()
    Storage.download(uri, str(target))
    files = sorted(p.name for p in target.rglob("*") if p.is_file())
    assert files == ["churn.pkl", "modelgit.json"]
    models = [name for name in files if name.endswith(SKLEARN_SERVER_EXTENSIONS)]
    assert models == ["churn.pkl"]  # exactly one model file, as the server requires
    md5 = modelgit.show(repo, "churn@v0.2.0").metadata["artifact"]["md5"]
    assert hashlib.md5((target / "churn.pkl").read_bytes()).hexdigest() == md5


def test_a_local_path_remote_is_refused_for_kserve(registry, tmp_path):
    dvc(registry, "remote", "add", "-d", "storage", str(tmp_path / "remote"))
    with pytest.raises(ManifestError, match="is a local path, which KServe pods cannot read"):
        kserve(registry, "churn@v0.2.0")
    result = runner.invoke(app, ["manifest", "churn@v0.2.0", "--strategy", "kserve",
                                 "-C", str(registry)])  # fmt: skip
    assert result.exit_code == 2 and result.stderr.count("\n") == 1


def test_kserve_without_a_remote_names_the_fix(registry):
    with pytest.raises(ManifestError, match="dvc remote add -d NAME URL"):
        kserve(registry, "churn@v0.2.0")


def test_an_s3_remote_without_its_plugin_still_renders_kserve(registry):
    # Rendering needs only the remote's URL, never its plugin (it used to crash, exit 3).
    dvc(registry, "remote", "add", "-d", "gcs", "gs://bucket/store")
    result = runner.invoke(app, ["manifest", "churn@v0.2.0", "--strategy", "kserve",
                                 "--service-account", "sa", "-C", str(registry)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert '"gs://bucket/store/modelgit/churn/v0.2.0"' in result.stdout
