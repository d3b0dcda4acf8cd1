"""Manifests per strategy: golden files, offline validation against the packaged schemas, bad
input. Through the public API (`modelgit.manifest`) and the CLI."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import dvc, git
from typer.testing import CliRunner

import modelgit
from modelgit.cli.app import app
from modelgit.deploy.manifests import packaged_templates as modelgit_templates
from modelgit.deploy.validate import PACKAGED_SCHEMAS
from modelgit.errors import (
    InvalidNameError,
    ManifestError,
    UnknownVersionError,
    WeightsError,
)
from modelgit.registry.published import published_artifact

GOLDEN = Path(__file__).parents[1] / "golden" / "manifests"
KSERVE = "serving.kserve.io_inferenceservice_v1beta1.json"
runner = CliRunner()

CASES = {
    "bluegreen": {"reference": "churn@v0.2.0", "strategy": "bluegreen", "analysis": True},
    "bluegreen-plain": {"reference": "churn@v0.2.0", "strategy": "bluegreen", "engine": "plain"},
    "bluegreen-switch": {
        "reference": "churn@v0.2.0",
        "strategy": "bluegreen",
        "engine": "plain",
        "switch": True,
    },
    "canary": {"reference": "churn@v0.2.0", "strategy": "canary", "steps": "10:5m,30:10m,60:10m"},
    "canary-nginx": {"reference": "churn@v0.2.0", "strategy": "canary", "traffic": "nginx"},
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
    """v0.1.0 in production, so canary and blue-green have a stable version, and a default DVC
    remote, where `publish` puts the bytes the pods download."""
    dvc(registry, "remote", "add", "-d", "storage", str(registry.parent / "remote"))
    git(registry, "commit", "--quiet", "-am", "Add a DVC remote")
    modelgit.promote(registry, "churn", "0.1.0", "production")
    return registry


def manifest(repo: Path, reference: str, strategy: str | None = None, **options):
    return modelgit.manifest(repo, modelgit.ManifestRequest(reference, strategy, **options))


def mask(text: str, repo: Path | None = None) -> str:
    """Fingerprints follow the pickled model's md5, which follows library versions; the remote
    is a temporary directory."""
    if repo is not None:
        text = text.replace(str(repo.parent / "remote"), "<dvc remote>")
    return re.sub(r'(modelgit.dev/model-hash: )"[0-9a-f]{12}"', r'\1"<fingerprint>"', text)


def documents(result) -> list[dict]:
    return [d for text in result.files.values() for d in yaml.safe_load_all(text) if d]


def one(result, kind: str, name: str | None = None) -> dict:
    [found] = [
        d for d in documents(result) if d["kind"] == kind and name in (None, d["metadata"]["name"])
    ]
    return found


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
            golden.write_text(mask(text, live))
        assert mask(text, live) == golden.read_text(), f"{case}/{name}"
        for document in yaml.safe_load_all(text):
            labels = document["metadata"]["labels"]
            assert labels["app.kubernetes.io/name"] == "churn"
            assert labels["modelgit.dev/model-hash"] in {
                modelgit.show(live, "churn@v0.1.0").metadata["fingerprint"],
                modelgit.show(live, "churn@v0.2.0").metadata["fingerprint"],
            }
    assert set(result.files) == {p.name for p in (GOLDEN / case).iterdir()}


def test_every_pod_downloads_its_own_version_into_mnt_models(live):
    result = manifest(live, "churn@v0.2.0", "canary", router="istio", weight=5)
    deployments = [d for d in documents(result) if d["kind"] == "Deployment"]
    assert len(deployments) == 2
    remote = str(live.parent / "remote")
    for deployment in deployments:
        pod = deployment["spec"]["template"]["spec"]
        version = deployment["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/version"]
        [container] = pod["containers"]
        env = {e["name"]: e["value"] for e in container["env"]}
        assert env == {
            "MODEL_NAME": "churn",
            "MODEL_VERSION": version,
            "MODEL_PATH": "/mnt/models/churn.pkl",
        }
        [init] = pod["initContainers"]
        assert init["image"] == "kserve/storage-initializer:v0.20.0"
        assert init["args"] == [
            published_artifact(remote, "churn", version, "churn.pkl"),
            "/mnt/models",
        ]
        assert pod["volumes"] == [{"name": "kserve-provision-location", "emptyDir": {}}]
        assert container["volumeMounts"][0]["mountPath"] == "/mnt/models"
    [service] = [d for d in documents(result) if d["kind"] == "VirtualService"]
    weights = [r["weight"] for r in service["spec"]["http"][0]["route"]]
    assert weights == [95, 5]


def test_kserves_storage_initializer_fetches_what_the_pod_loads(live, tmp_path):
    """The init container's arguments, given to KServe's own storage code, put the version's
    bytes where MODEL_PATH says (the bytes placed where `publish` puts them)."""
    from kserve_storage import Storage

    result = manifest(live, "churn@v0.2.0", "bluegreen", storage_initializer="mirror/init:1")
    pod = one(result, "Rollout")["spec"]["template"]["spec"]
    [init] = pod["initContainers"]
    assert init["image"] == "mirror/init:1"
    md5 = modelgit.show(live, "churn@v0.2.0").metadata["artifact"]["md5"]
    published = Path(init["args"][0])
    published.parent.mkdir(parents=True)
    shutil.copyfile(live / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:], published)
    mount = tmp_path / "mnt-models"
    mount.mkdir()
    Storage.download_files([init["args"][0]], [str(mount)])
    env = {e["name"]: e["value"] for e in pod["containers"][0]["env"]}
    loaded = mount / Path(env["MODEL_PATH"]).relative_to(init["args"][1])
    assert hashlib.md5(loaded.read_bytes()).hexdigest() == md5


def test_a_per_version_image_needs_no_download(live):
    result = manifest(live, "churn@v0.2.0", "canary", router="istio", weight=5,
                      image="ghcr.io/acme/{model}:{version}")  # fmt: skip
    images = set()
    for deployment in (d for d in documents(result) if d["kind"] == "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        assert "initContainers" not in pod and "volumes" not in pod
        images.add(pod["containers"][0]["image"])
    assert images == {"ghcr.io/acme/churn:0.1.0", "ghcr.io/acme/churn:0.2.0"}


def test_without_a_remote_pods_have_nowhere_to_download_from(registry):
    modelgit.promote(registry, "churn", "0.1.0", "production")
    with pytest.raises(ManifestError, match="dvc remote add -d"):
        manifest(registry, "churn@v0.2.0", "bluegreen")
    baked = manifest(registry, "churn@v0.2.0", "bluegreen", image="acme/churn:{version}")
    assert one(baked, "Rollout")["spec"]["template"]["spec"]["containers"][0]["image"] == (
        "acme/churn:0.2.0"
    )


def test_argo_bluegreen_previews_the_new_version_and_keeps_traffic_on_the_live_one(live):
    result = manifest(live, "churn@v0.2.0", "bluegreen", validate=True)
    rollout = one(result, "Rollout")
    strategy = rollout["spec"]["strategy"]["blueGreen"]
    assert strategy == {
        "activeService": "churn",
        "previewService": "churn-preview",
        "autoPromotionEnabled": False,
    }
    assert rollout["spec"]["selector"] == {"matchLabels": {"app.kubernetes.io/name": "churn"}}
    assert rollout["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/version"] == "0.2.0"
    assert rollout["metadata"]["annotations"]["modelgit.dev/live-version"] == "0.1.0"
    for name in ("churn", "churn-preview"):
        assert one(result, "Service", name)["spec"]["selector"] == {
            "app.kubernetes.io/name": "churn"
        }
    analysed = manifest(live, "churn@v0.2.0", "bluegreen", analysis=True, auto_promote=True)
    strategy = one(analysed, "Rollout")["spec"]["strategy"]["blueGreen"]
    assert strategy["autoPromotionEnabled"] is True
    assert strategy["prePromotionAnalysis"]["templates"] == [{"templateName": "churn-health"}]
    assert {"name": "service", "value": "churn-preview"} in strategy["prePromotionAnalysis"]["args"]
    assert one(analysed, "AnalysisTemplate")["metadata"]["name"] == "churn-health"


def test_plain_bluegreen_slots_follow_the_registry(live):
    first = manifest(live, "churn@v0.2.0", "bluegreen", engine="plain")
    slots = {
        d["metadata"]["name"]: d["metadata"]["labels"]["app.kubernetes.io/version"]
        for d in documents(first)
        if d["kind"] == "Deployment"
    }
    assert slots == {"churn-blue": "0.1.0", "churn-green": "0.2.0"}
    assert one(first, "Service", "churn")["spec"]["selector"]["modelgit.dev/slot"] == "blue"
    preview = one(first, "Service", "churn-preview")
    assert preview["spec"]["selector"]["modelgit.dev/slot"] == "green"
    modelgit.promote(live, "churn", "0.2.0", "production")
    switched = manifest(live, "churn#production", "bluegreen", engine="plain", switch=True)
    assert list(switched.files) == ["services.yaml"]
    assert one(switched, "Service", "churn")["spec"]["selector"]["modelgit.dev/slot"] == "green"
    modelgit.rollback(live, "churn")  # back to v0.1.0, which still sits in blue
    back = manifest(live, "churn#production", "bluegreen", engine="plain", switch=True)
    assert one(back, "Service", "churn")["spec"]["selector"]["modelgit.dev/slot"] == "blue"
    with pytest.raises(ManifestError, match="--switch is for --engine plain"):
        manifest(live, "churn#production", "bluegreen", switch=True)


def test_argo_canary_routes_through_istio_with_timed_steps_and_background_analysis(live):
    (live / ".modelgit.yaml").write_text(
        "deploy:\n  analysis: {max_error_rate: 0.02, max_p95_latency_ms: 250,"
        " prometheus: 'http://prom.monitoring:9090'}\n"
    )
    result = manifest(live, "churn@v0.2.0", "canary", weight=5, validate=True)
    canary = one(result, "Rollout")["spec"]["strategy"]["canary"]
    assert canary["steps"] == [
        {"setWeight": 5}, {"pause": {"duration": "5m"}},
        {"setWeight": 10}, {"pause": {"duration": "5m"}},
        {"setWeight": 30}, {"pause": {"duration": "10m"}},
        {"setWeight": 60}, {"pause": {"duration": "10m"}},
    ]  # fmt: skip
    assert canary["stableService"] == "churn-stable" and canary["canaryService"] == "churn-canary"
    istio = canary["trafficRouting"]["istio"]
    assert istio["virtualService"] == {"name": "churn", "routes": ["primary"]}
    assert istio["destinationRule"]["name"] == "churn"
    assert canary["analysis"]["templates"] == [{"templateName": "churn-health"}]
    assert {"name": "version", "value": "0.2.0"} in canary["analysis"]["args"]
    [primary] = one(result, "VirtualService")["spec"]["http"]
    assert primary["name"] == "primary"
    assert [(r["destination"]["subset"], r["weight"]) for r in primary["route"]] == [
        ("stable", 100),
        ("canary", 0),
    ]
    subsets = one(result, "DestinationRule")["spec"]["subsets"]
    assert [s["name"] for s in subsets] == ["stable", "canary"]
    metrics = one(result, "AnalysisTemplate")["spec"]["metrics"]
    assert [m["provider"]["prometheus"]["address"] for m in metrics] == [
        "http://prom.monitoring:9090"
    ] * 2
    assert metrics[0]["successCondition"].endswith("result[0] <= 0.02")
    assert metrics[1]["successCondition"].endswith("result[0] <= 250.0")
    assert "istio_requests_total" in metrics[0]["provider"]["prometheus"]["query"]


def test_a_canary_of_the_stable_version_is_refused_but_the_steady_state_renders(live):
    with pytest.raises(ManifestError, match=r"v0\.1\.0 is already the stable version"):
        manifest(live, "churn@v0.1.0", "canary")
    with pytest.raises(ManifestError, match="already the stable version"):
        manifest(live, "churn@v0.1.0", "canary", router="istio")
    steady = manifest(live, "churn#production", "canary", validate=True)
    assert "analysis.yaml" not in steady.files
    assert "analysis" not in one(steady, "Rollout")["spec"]["strategy"]["canary"]
    istio = manifest(live, "churn#production", "canary", router="istio", validate=True)
    assert len([d for d in documents(istio) if d["kind"] == "Deployment"]) == 1


def test_ab_weights_are_exact_percentages_and_the_router_agrees(live):
    from modelgit.deploy.routing import Router

    modelgit.promote(live, "churn", "0.2.0", "staging")
    third = 1 / 3
    weights = {"churn@v0.1.0": third, "churn@v0.2.0": third}
    result = manifest(live, "churn", "ab", weights=weights | {"churn@v0.2.0": 2 * third})
    [_, default] = [r for r in one(result, "VirtualService")["spec"]["http"]][-2:]
    assert [r["weight"] for r in default["route"]] == [33, 67]
    config = one(result, "ConfigMap")["data"]
    router = Router.from_config(config)
    assert router.header == "x-model-version"
    share = sum(router.route(f"user-{i}") == "0.1.0" for i in range(20_000)) / 20_000
    assert abs(share - 0.33) < 0.015
    assert json.loads(config["weights.json"]) == {"0.1.0": 0.33, "0.2.0": 0.67}
    header_rules = [r for r in one(result, "VirtualService")["spec"]["http"] if "match" in r]
    assert [r["match"][0]["headers"]["x-model-version"]["exact"] for r in header_rules] == [
        "0.1.0",
        "0.2.0",
    ]


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ("churn@v0.1.0=0.995,churn@v0.2.0=0.005", "v0.2.0 would get 0% of traffic"),
        ("churn@v0.1.0=0.8,churn@v0.1.0=0.2", "v0.1.0 is named twice"),
        ("churn@v0.1.0=1,churn@v0.2.0=0", "v0.2.0 would get 0%"),
    ],
)
def test_ab_refuses_arms_that_get_nothing_and_duplicates(live, weights, message):
    result = runner.invoke(app, ["manifest", "churn", "--strategy", "ab", "--weights", weights,
                                 "-C", str(live)])  # fmt: skip
    assert result.exit_code == 2 and message in result.stderr, result.output


def test_validate_refuses_a_selector_that_would_change(live):
    out = live / "deploy"
    manifest(live, "churn@v0.2.0", "bluegreen", engine="plain", out=out, validate=True)
    override = live / "templates" / "k8s" / "bluegreen-plain"
    override.mkdir(parents=True)
    packaged = modelgit_templates() / "k8s" / "bluegreen-plain" / "deployments.yaml.j2"
    (override / "deployments.yaml.j2").write_text(
        packaged.read_text().replace('{"modelgit.dev/slot": slot}',
                                     '{"modelgit.dev/slot": slot, "track": "x"}')
    )  # fmt: skip
    before = (out / "deployments.yaml").read_text()
    with pytest.raises(ManifestError, match="Deployment churn-blue changes its selector"):
        manifest(live, "churn@v0.2.0", "bluegreen", engine="plain", out=out, validate=True)
    assert (out / "deployments.yaml").read_text() == before
    (override / "deployments.yaml.j2").write_text(
        packaged.read_text().replace(
            '{"modelgit.dev/slot": slot}', '{"app.kubernetes.io/version": variant.version_label}'
        )
    )
    with pytest.raises(ManifestError, match="selector names the version"):
        manifest(live, "churn@v0.2.0", "bluegreen", engine="plain", validate=True)


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


def test_kserve_without_a_remote_says_so(registry):
    with pytest.raises(ManifestError, match="the project has none"):
        manifest(registry, "churn@v0.2.0", "kserve")


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
    assert sorted(p.name for p in out.iterdir()) == [
        "analysis.yaml", "rollout.yaml", "routing.yaml", "services.yaml",
    ]  # fmt: skip
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
        ({"strategy": "canary", "weight": 150}, ManifestError, "must be between 1 and 99"),
        ({"strategy": "canary", "steps": "10:5m,5:5m"}, ManifestError, "must rise"),
        ({"strategy": "canary", "steps": "10:forever"}, ManifestError, "PERCENT:DURATION"),
        ({"strategy": "bluegreen", "engine": "kubectl"}, ManifestError, "unknown --engine"),
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
    (live / "deploy" / "services.yaml").write_text("my own service\n")
    result = runner.invoke(app, ["manifest", "churn@v0.1.0", "--strategy", "bluegreen", "--out",
                                 str(live / "deploy"), "-C", str(live)])  # fmt: skip
    assert result.exit_code == 2 and "was not written by modelgit" in result.stderr
    assert (live / "deploy" / "services.yaml").read_text() == "my own service\n"
    assert not (live / "deploy" / "rollout.yaml").exists()


def test_model_names_must_be_kubernetes_names(live):
    git(live, "tag", "-a", "-m", "gto", "Churn_Model@v1.0.0")
    with pytest.raises(InvalidNameError, match="cannot name Kubernetes objects"):
        manifest(live, "Churn_Model@v1.0.0", "bluegreen")


def test_project_templates_override_file_by_file_and_strict_variables(live):
    override = live / "templates" / "k8s" / "bluegreen"
    override.mkdir(parents=True)
    (override / "services.yaml.j2").write_text(
        "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: {{ model }}-custom\n"
    )
    result = manifest(live, "churn@v0.2.0", "bluegreen")
    assert "churn-custom" in result.files["services.yaml"]
    assert "kind: Rollout" in result.files["rollout.yaml"]  # still the packaged one
    (override / "services.yaml.j2").write_text("name: {{ no_such_variable }}\n")
    with pytest.raises(ManifestError, match="'no_such_variable' is undefined"):
        manifest(live, "churn@v0.2.0", "bluegreen", out=live / "deploy")
    assert not (live / "deploy").exists()
