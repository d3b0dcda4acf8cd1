"""Canary steps and the analysis settings: timed, rising, validated."""

from __future__ import annotations

import pytest

from modelgit.deploy.canary import Analysis, Step, parse_steps, starting_at
from modelgit.deploy.invariants import check
from modelgit.errors import ManifestError


def test_steps_are_weights_with_timed_pauses():
    assert parse_steps("10:5m, 30:10m,60") == (Step(10, "5m"), Step(30, "10m"), Step(60, "5m"))
    assert starting_at(parse_steps("10:5m,30:10m"), 20) == (Step(20, "5m"), Step(30, "10m"))


@pytest.mark.parametrize("text", ["", "30:5m,10:5m", "0:5m", "100:5m", "10:5", "10:soon", "x"])
def test_bad_steps_are_refused(text):
    with pytest.raises(ManifestError):
        parse_steps(text)


def test_analysis_settings_have_documented_defaults_and_refuse_unknown_keys():
    assert Analysis.from_settings(None) == Analysis()
    assert Analysis().max_error_rate == 0.01 and Analysis().max_p95_latency_ms == 500
    assert Analysis.from_settings({"max_error_rate": 0.05}).max_error_rate == 0.05
    with pytest.raises(ManifestError, match="unknown keys"):
        Analysis.from_settings({"max_errors": 1})
    with pytest.raises(ManifestError, match="http"):
        Analysis.from_settings({"prometheus": "prom:9090"})


ROLLOUT = """\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: churn}
spec:
  replicas: 4
  selector: {matchLabels: {app.kubernetes.io/name: churn}}
  template: {metadata: {labels: {app.kubernetes.io/name: churn}}}
  strategy:
    canary:
      steps: [{setWeight: 10}, {pause: {duration: 5m}}]
"""


def test_a_first_step_without_a_traffic_router_must_be_whole_pods():
    [problem] = check({"rollout.yaml": ROLLOUT})
    assert "10% cannot be expressed with 4 pod(s)" in problem
    assert check({"rollout.yaml": ROLLOUT.replace("setWeight: 10", "setWeight: 25")}) == []
    routed = ROLLOUT.replace("steps:", "trafficRouting: {istio: {}}\n      steps:")
    assert check({"rollout.yaml": routed}) == []
