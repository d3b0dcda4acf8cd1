"""Offline validation: custom resources against the CRD schemas packaged with modelgit (or a
directory that replaces them), core kinds against Kubernetes' own schemas."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from modelgit.deploy import validate as validation
from modelgit.deploy.validate import PACKAGED_SCHEMAS, validate
from modelgit.errors import ManifestError

ROLLOUT = """\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: churn
  namespace: ml
  labels: {app.kubernetes.io/name: churn, app.kubernetes.io/version: "0.2.0"}
spec:
  replicas: 1
  selector:
    matchLabels: {app.kubernetes.io/name: churn}
  template:
    metadata:
      labels: {app.kubernetes.io/name: churn, app.kubernetes.io/version: "0.2.0"}
    spec:
      containers:
        - name: model
          image: ghcr.io/acme/churn:1
          ports: [{name: http, containerPort: 8080}]
          readinessProbe:
            httpGet: {path: /healthz, port: http}
  strategy:
    canary:
      stableService: churn-stable
      canaryService: churn-canary
      analysis:
        templates: [{templateName: churn-success-rate}]
        startingStep: 1
        args: [{name: service, value: churn-canary}]
      steps:
        - setWeight: 10
        - pause: {duration: 5m}
        - setWeight: 30
        - pause: {}
"""

ANALYSIS_TEMPLATE = """\
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: churn-success-rate
  namespace: ml
spec:
  args:
    - name: service
  metrics:
    - name: success-rate
      interval: 1m
      count: 5
      failureLimit: 1
      successCondition: result[0] >= 0.99
      provider:
        prometheus:
          address: http://prometheus.monitoring:9090
          query: >-
            sum(rate(http_requests_total{service="{{args.service}}",code!~"5.."}[2m]))
            / sum(rate(http_requests_total{service="{{args.service}}"}[2m]))
"""

VIRTUAL_SERVICE = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: churn
  namespace: ml
spec:
  hosts: [churn.ml.svc.cluster.local]
  http:
    - route:
        - destination: {host: churn.ml.svc.cluster.local, subset: v0-1-0}
          weight: 75
        - destination: {host: churn.ml.svc.cluster.local, subset: v0-2-0}
          weight: 25
"""

DESTINATION_RULE = """\
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: churn
  namespace: ml
spec:
  host: churn.ml.svc.cluster.local
  subsets:
    - name: v0-1-0
      labels: {app.kubernetes.io/version: "0.1.0"}
    - name: v0-2-0
      labels: {app.kubernetes.io/version: "0.2.0"}
"""

INFERENCE_SERVICE = """\
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: churn
  namespace: ml
  annotations: {modelgit.dev/version: "0.2.0"}
spec:
  predictor:
    canaryTrafficPercent: 10
    serviceAccountName: churn-models
    model:
      modelFormat: {name: sklearn}
      storageUri: s3://models/files/md5/3f/2a9c0e1b7d4e5f60718293a4b5c6d7e8
      resources:
        requests: {cpu: 100m, memory: 256Mi}
      env:
        - {name: MODEL_NAME, value: churn}
        - {name: MODEL_VERSION, value: "0.2.0"}
"""

WIDGET = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: 3}\n"

VALID = {
    "Rollout": (ROLLOUT, "argoproj.io_rollout_v1alpha1.json"),
    "AnalysisTemplate": (ANALYSIS_TEMPLATE, "argoproj.io_analysistemplate_v1alpha1.json"),
    "VirtualService": (VIRTUAL_SERVICE, "networking.istio.io_virtualservice_v1.json"),
    "DestinationRule": (DESTINATION_RULE, "networking.istio.io_destinationrule_v1.json"),
    "InferenceService": (INFERENCE_SERVICE, "serving.kserve.io_inferenceservice_v1beta1.json"),
}


def only(text: str, crd_schemas: Path | None = None) -> validation.Checked:
    [checked] = validate({"manifest.yaml": text}, crd_schemas)
    return checked


def test_the_package_carries_the_schemas_of_the_kinds_modelgit_renders():
    assert Path(validation.__file__).parent / "schemas" == PACKAGED_SCHEMAS
    names = {path.name for path in PACKAGED_SCHEMAS.glob("*.json")}
    assert {schema for _, schema in VALID.values()} <= names
    assert (PACKAGED_SCHEMAS / "README.md").is_file()


@pytest.mark.parametrize("name", sorted(p.name for p in PACKAGED_SCHEMAS.glob("*.json")))
def test_every_packaged_schema_is_a_draft_7_schema_named_for_its_kind(name):
    schema = json.loads((PACKAGED_SCHEMAS / name).read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    group, kind, version = name.removesuffix(".json").split("_")
    assert "." in group and kind == kind.lower() and version.startswith("v")


@pytest.mark.parametrize("kind", sorted(VALID))
def test_custom_resources_validate_against_the_packaged_schema_by_default(kind):
    text, schema = VALID[kind]
    checked = only(text)
    assert (checked.kind, checked.name) == (kind, yaml.safe_load(text)["metadata"]["name"])
    assert checked.schema == schema
    assert checked.errors == ()


def test_each_document_of_a_file_is_checked_against_its_own_schema():
    files = {
        "rollout.yaml": f"---\n{ROLLOUT}---\n{ANALYSIS_TEMPLATE}",
        "isvc.yaml": INFERENCE_SERVICE,
    }
    checks = validate(files)
    assert [(c.file, c.kind, c.schema, c.errors) for c in checks] == [
        ("rollout.yaml", "Rollout", "argoproj.io_rollout_v1alpha1.json", ()),
        ("rollout.yaml", "AnalysisTemplate", "argoproj.io_analysistemplate_v1alpha1.json", ()),
        ("isvc.yaml", "InferenceService", "serving.kserve.io_inferenceservice_v1beta1.json", ()),
    ]


@pytest.mark.parametrize(
    ("text", "old", "new", "error"),
    [
        (
            ROLLOUT,
            "- setWeight: 30",
            "- setWeight: thirty",
            "spec/strategy/canary/steps/2/setWeight: 'thirty' is not of type 'integer'",
        ),
        (
            ANALYSIS_TEMPLATE,
            "      successCondition",
            "      timeout: 30s\n      successCondition",
            "spec/metrics/0: Additional properties are not allowed ('timeout' was unexpected)",
        ),
        (
            VIRTUAL_SERVICE,
            "weight: 75",
            "weight: [75]",
            "spec/http/0/route/0/weight: [75] is not of type 'integer'",
        ),
        (
            DESTINATION_RULE,
            "  host: churn.ml.svc.cluster.local\n",
            "",
            "spec: 'host' is a required property",
        ),
        (
            INFERENCE_SERVICE,
            "  predictor:",
            "  transformer:",
            "spec: 'predictor' is a required property",
        ),
    ],
    ids=["wrong-type", "unknown-field", "wrong-type-in-list", "missing-host", "missing-predictor"],
)
def test_an_invalid_custom_resource_fails_with_the_field_path(text, old, new, error):
    assert old in text
    checked = only(text.replace(old, new))
    assert checked.schema == VALID[checked.kind][1]
    assert error in checked.errors


def test_an_unknown_custom_kind_is_not_called_valid():
    checked = only(WIDGET)
    assert (checked.kind, checked.schema, checked.errors) == ("Widget", None, ())
    # Same group as a packaged schema, another version: still no schema.
    older = only(VIRTUAL_SERVICE.replace("networking.istio.io/v1", "networking.istio.io/v1beta1"))
    assert (older.schema, older.errors) == (None, ())


STRICTER_ROLLOUT = {
    "type": "object",
    "required": ["spec"],
    "properties": {
        "spec": {
            "type": "object",
            "required": ["replicas"],
            "properties": {"replicas": {"type": "integer", "minimum": 2}},
        }
    },
}


def test_a_given_directory_replaces_the_packaged_schemas(tmp_path):
    (tmp_path / "argoproj.io_rollout_v1alpha1.json").write_text(json.dumps(STRICTER_ROLLOUT))
    (tmp_path / "example.com_widget_v1.json").write_text(
        json.dumps({"properties": {"spec": {"properties": {"size": {"maximum": 2}}}}})
    )
    assert only(ROLLOUT).errors == ()  # the packaged schema accepts one replica
    rollout = only(ROLLOUT, tmp_path)
    assert rollout.schema == "argoproj.io_rollout_v1alpha1.json"
    assert rollout.errors == ("spec/replicas: 1 is less than the minimum of 2",)
    assert only(ROLLOUT.replace("replicas: 1", "replicas: 3"), tmp_path).errors == ()
    widget = only(WIDGET, tmp_path)
    assert (widget.schema, widget.errors) == (
        "example.com_widget_v1.json",
        ("spec/size: 3 is greater than the maximum of 2",),
    )
    # No fallback: a kind the directory has no file for is not validated, though one is packaged.
    service = only(VIRTUAL_SERVICE, tmp_path)
    assert (service.schema, service.errors) == (None, ())
    assert only(VIRTUAL_SERVICE).schema == "networking.istio.io_virtualservice_v1.json"


def test_a_given_directory_that_is_missing_or_holds_a_broken_schema_is_refused(tmp_path):
    with pytest.raises(ManifestError, match="is not a directory"):
        validate({"r.yaml": ROLLOUT}, tmp_path / "no-such-dir")
    path = tmp_path / "argoproj.io_rollout_v1alpha1.json"
    path.write_text("{not json")
    with pytest.raises(ManifestError, match="cannot be read as JSON"):
        validate({"r.yaml": ROLLOUT}, tmp_path)
    path.write_text(json.dumps({"type": "object", "required": "spec"}))
    with pytest.raises(ManifestError, match="is not a valid JSON schema"):
        validate({"r.yaml": ROLLOUT}, tmp_path)


def test_core_kinds_still_go_through_kubernetes_strict_schemas(tmp_path):
    service = (
        "apiVersion: v1\nkind: Service\nmetadata: {name: churn}\nspec:\n  ports: [{port: 80}]\n"
    )
    assert only(service) == validation.Checked(
        "manifest.yaml", "Service", "churn", "kubernetes 1.30 (strict)"
    )
    bogus = only(service.replace("spec:\n", "spec:\n  bogus: 1\n"))
    assert bogus.schema == "kubernetes 1.30 (strict)" and "bogus" in bogus.errors[0]
    # A CRD directory does not change how core kinds are checked.
    assert only(service, tmp_path).schema == "kubernetes 1.30 (strict)"
