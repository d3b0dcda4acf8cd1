"""Manifests per strategy: golden files, offline validation against the packaged schemas, bad
input. Through the public API (`modelgit.manifest`) and the CLI."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import git
from typer.testing import CliRunner

import modelgit
from modelgit.cli.app import app
from modelgit.deploy.validate import PACKAGED_SCHEMAS
from modelgit.errors import (
    InvalidNameError,
    ManifestError,
    UnknownVersionError,
    WeightsError,
)

GOLDEN = Path(__file__).parents[1] / "golden" / "manifests"
KSERVE = "serving.kserve.io_inferenceservice_v1beta1.json"
runner = CliRunner()

CASES = {
    "bluegreen": {"reference": "churn@v0.2.0", "strategy": "bluegreen"},
    "bluegreen-switch": {"reference": "churn@v0.2.0", "strategy": "bluegreen", "switch": True},
    "canary": {
        "reference": "churn@v0.2.0",
        "strategy": "canary",
        "weight": 10,
        "steps": (10, 30, 60),
    },
    "canary-istio": {
        "reference": "churn@v0.2.0",
        "strategy": "canary",
        "router": "istio",
        "weight": 25,
    },
    "ab": {"reference": "churn", "strategy": "ab", "weights": "churn@v0.1.0=0.8,churn@v0.2.0=0.2"},
}


@pytest.fixture
def live(registry):
    """v0.1.0 in production, so canary and blue-green have a stable version."""
    modelgit.promote(registry, "churn", "0.1.0", "production")
    return registry


def manifest(repo: Path, reference: str, strategy: str | None = None, **options):
    return modelgit.manifest(repo, modelgit.ManifestRequest(reference, strategy, **options))


def mask(text: str) -> str:
    """Fingerprints follow the pickled model's md5, which follows library versions."""
    return re.sub(r'(modelgit.dev/model-hash: )"[0-9a-f]{12}"', r'\1"<fingerprint>"', text)


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_strategy_matches_its_golden_files_and_validates(live, case):
    arguments = dict(CASES[case])
    result = manifest(live, image="ghcr.io/acme/churn:1", namespace="ml", validate=True,
                      **arguments)  # fmt: skip
    # Every document, custom resources included, against a schema (the packaged CRD schemas).
    assert result.checks and all(c.schema and not c.errors for c in result.checks)
    for name, text in result.files.items():
        golden = GOLDEN / case / name
        if os.environ.get("MODELGIT_UPDATE_GOLDEN"):  # a deliberate update, reviewed in the diff
            golden.parent.mkdir(parents=True, exist_ok=True)
            golden.write_text(mask(text))
        assert mask(text) == golden.read_text(), f"{case}/{name}"
        for document in yaml.safe_load_all(text):
            labels = document["metadata"]["labels"]
            assert labels["app.kubernetes.io/name"] == "churn"
            assert labels["modelgit.dev/model-hash"] in {
                modelgit.show(live, "churn@v0.1.0").metadata["fingerprint"],
                modelgit.show(live, "churn@v0.2.0").metadata["fingerprint"],
            }
    assert set(result.files) == {p.name for p in (GOLDEN / case).iterdir()}


def test_every_container_gets_the_model_environment(live):
    result = manifest(live, "churn@v0.2.0", "canary", router="istio", weight=5)
    documents = [d for text in result.files.values() for d in yaml.safe_load_all(text)]
    deployments = [d for d in documents if d["kind"] == "Deployment"]
    assert len(deployments) == 2
    for deployment in deployments:
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e["value"] for e in container["env"]}
        version = deployment["metadata"]["labels"]["app.kubernetes.io/version"]
        assert env == {
            "MODEL_NAME": "churn",
            "MODEL_VERSION": version,
            "MODEL_PATH": "models/churn.pkl",
        }
    [service] = [d for d in documents if d["kind"] == "VirtualService"]
    weights = [r["weight"] for r in service["spec"]["http"][0]["route"]]
    assert weights == [95, 5]


def test_bluegreen_switch_cuts_over_and_back(live):
    full = manifest(live, "churn@v0.2.0", "bluegreen")
    colours = {
        d["metadata"]["labels"]["app.kubernetes.io/version"]: d["metadata"]["labels"][
            "modelgit.dev/colour"
        ]
        for d in yaml.safe_load_all(full.files["deployments.yaml"])
    }
    assert set(colours.values()) == {"blue", "green"}
    assert (
        yaml.safe_load(full.files["service.yaml"])["spec"]["selector"]["modelgit.dev/colour"]
        == colours["0.2.0"]
    )
    back = manifest(live, "churn#production", "bluegreen", switch=True, stable="churn@v0.2.0")
    assert list(back.files) == ["service.yaml"]
    assert (
        yaml.safe_load(back.files["service.yaml"])["spec"]["selector"]["modelgit.dev/colour"]
        == colours["0.1.0"]
    )


def test_kserve_points_at_the_published_directory(s3_registry):
    live, bucket = s3_registry
    modelgit.promote(live, "churn", "0.1.0", "production")
    result = manifest(live, "churn@v0.2.0", "kserve", weight=10, validate=True,
                      service_account="models-reader")  # fmt: skip
    [checked] = result.checks
    assert (checked.kind, checked.schema, checked.errors) == ("InferenceService", KSERVE, ())
    [service] = yaml.safe_load_all(result.files["inferenceservice.yaml"])
    uri = service["spec"]["predictor"]["model"]["storageUri"]
    # `modelgit publish`'s place for the version (its download is tested with KServe's own
    # storage code in test_kserve_delivery.py), not DVC's nameless content-addressed object.
    assert uri == f"s3://{bucket}/dvcstore/modelgit/churn/v0.2.0"
    assert service["spec"]["predictor"]["canaryTrafficPercent"] == 10
    text = mask(result.files["inferenceservice.yaml"]).replace(f"s3://{bucket}", "s3://<bucket>")
    golden = GOLDEN / "kserve" / "inferenceservice.yaml"
    if os.environ.get("MODELGIT_UPDATE_GOLDEN"):  # a deliberate update, reviewed in the diff
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text)
    assert text == golden.read_text()


def test_kserve_without_a_remote_says_so(live):
    with pytest.raises(ManifestError, match="the project has none"):
        manifest(live, "churn@v0.2.0", "kserve")


def test_crd_schemas_replace_the_packaged_ones(live, tmp_path):
    schemas = tmp_path / "crds"
    shutil.copytree(PACKAGED_SCHEMAS, schemas)
    rollout = schemas / "argoproj.io_rollout_v1alpha1.json"
    schema = json.loads(rollout.read_text())
    schema["properties"]["spec"]["properties"]["replicas"]["minimum"] = 2  # stricter than packaged
    rollout.write_text(json.dumps(schema))
    out = live / "deploy"
    base = ["manifest", "churn@v0.2.0", "--strategy", "canary", "--validate", "-C", str(live)]
    refused = runner.invoke(app, [*base, "--out", str(out), "--crd-schemas", str(schemas)])
    assert refused.exit_code == 2
    assert refused.stderr == (
        "error: rollout.yaml: Rollout churn does not validate against "
        "argoproj.io_rollout_v1alpha1.json: spec/replicas: 1 is less than the minimum of 2\n"
    )
    assert not out.exists()
    # Two replicas satisfy the directory's schema; the packaged one accepts one as well.
    accepted = runner.invoke(app, [*base, "--replicas", "2", "--crd-schemas", str(schemas)])
    assert accepted.exit_code == 0, accepted.output
    assert "replicas: 2" in accepted.stdout
    assert runner.invoke(app, base).exit_code == 0


def test_writing_into_the_project(live):
    out = live / "deploy" / "prod"
    result = runner.invoke(app, ["manifest", "churn@v0.2.0", "--strategy", "canary", "--out",
                                 str(out), "-C", str(live)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["rollout.yaml", "services.yaml"]
    again = runner.invoke(app, [
        "manifest", "churn@v0.2.0", "--strategy", "canary", "--weight", "50", "--out", str(out),
        "-C", str(live),
    ])  # fmt: skip
    assert again.exit_code == 0 and "setWeight: 50" in (out / "rollout.yaml").read_text()


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        (
            {"strategy": "ab", "weights": "churn@v0.1.0=0.7,churn@v0.2.0=0.2"},
            WeightsError,
            "sum to 0.9",
        ),
        (
            {"strategy": "ab", "weights": "churn@v0.1.0=1.2,churn@v0.2.0=-0.2"},
            WeightsError,
            "must be in",
        ),
        ({"strategy": "ab", "weights": "churn@v9.0.0=1"}, UnknownVersionError, "no version 9.0.0"),
        ({"strategy": "ab", "weights": "other@v0.1.0=1"}, WeightsError, "names other, not churn"),
        ({"strategy": "ab"}, ManifestError, "needs --weights"),
        ({"strategy": "canary", "weight": 150}, ManifestError, "not between 0 and 100"),
        ({"strategy": "rolling"}, ManifestError, "unknown strategy"),
    ],
)
def test_bad_input_writes_nothing(live, arguments, error, message):
    out = live / "deploy"
    with pytest.raises(error, match=message):
        manifest(live, "churn@v0.2.0", out=out, **arguments)
    assert not out.exists()


def test_refuses_deprecated_versions_and_unsafe_out(live, tmp_path):
    modelgit.deprecate(live, "churn", "0.2.0")
    with pytest.raises(UnknownVersionError):
        manifest(live, "churn@v0.2.0", "canary", out=live / "deploy")
    with pytest.raises(ManifestError, match="outside the project"):
        manifest(live, "churn@v0.1.0", "bluegreen", out=tmp_path / "x")
    (live / "deploy").mkdir()
    (live / "deploy" / "service.yaml").write_text("my own service\n")
    result = runner.invoke(app, ["manifest", "churn@v0.1.0", "--strategy", "bluegreen", "--out",
                                 str(live / "deploy"), "-C", str(live)])  # fmt: skip
    assert result.exit_code == 2 and "was not written by modelgit" in result.stderr
    assert (live / "deploy" / "service.yaml").read_text() == "my own service\n"
    assert not (live / "deploy" / "deployments.yaml").exists()


def test_model_names_must_be_kubernetes_names(live):
    git(live, "tag", "-a", "-m", "gto", "Churn_Model@v1.0.0")
    with pytest.raises(InvalidNameError, match="cannot name Kubernetes objects"):
        manifest(live, "Churn_Model@v1.0.0", "bluegreen")


def test_project_templates_override_file_by_file_and_strict_variables(live):
    override = live / "templates" / "k8s" / "bluegreen"
    override.mkdir(parents=True)
    (override / "service.yaml.j2").write_text(
        "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: {{ model }}-custom\n"
    )
    result = manifest(live, "churn@v0.2.0", "bluegreen")
    assert "churn-custom" in result.files["service.yaml"]
    assert "kind: Deployment" in result.files["deployments.yaml"]  # still the packaged one
    (override / "service.yaml.j2").write_text("name: {{ no_such_variable }}\n")
    with pytest.raises(ManifestError, match="'no_such_variable' is undefined"):
        manifest(live, "churn@v0.2.0", "bluegreen", out=live / "deploy")
    assert not (live / "deploy").exists()
