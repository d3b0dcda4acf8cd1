"""The deployment invariants, per strategy, over a release history: render v1 in production,
then v2, promote v2, then v3. Every rendering goes through the public API."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from conftest import copy_project, dvc, git, template_env

import modelgit
from modelgit.deploy import invariants

STRATEGIES = {
    "bluegreen-argo": {"strategy": "bluegreen"},
    "bluegreen-argo-analysed": {"strategy": "bluegreen", "analysis": True},
    "bluegreen-plain": {"strategy": "bluegreen", "engine": "plain"},
    "canary-argo-istio": {"strategy": "canary"},
    "canary-argo-nginx": {"strategy": "canary", "traffic": "nginx"},
    "canary-istio": {"strategy": "canary", "router": "istio", "weight": 10},
}


@pytest.fixture(scope="module")
def renders(retrained_template, tmp_path_factory):
    """Per strategy, (what was live, the rendering) for v1 live, v2 rendered, v2 promoted and
    v3 rendered: one release history, rendered by every strategy at each point."""
    repo = copy_project(retrained_template, tmp_path_factory.mktemp("invariants"))
    with template_env(tmp_path_factory):
        dvc(repo, "remote", "add", "-d", "storage", str(repo.parent / "remote"))
        git(repo, "commit", "--quiet", "-am", "Add a DVC remote")
        found: dict[str, list[tuple[str, dict[str, str]]]] = {case: [] for case in STRATEGIES}

        def at(live: str, reference: str) -> None:
            for case, options in STRATEGIES.items():
                found[case].append((live, render(repo, reference, **options)))

        modelgit.promote(repo, "churn", "0.1.0", "production")
        at("0.1.0", "churn#production")
        at("0.1.0", "churn@v0.2.0")
        modelgit.promote(repo, "churn", "0.2.0", "production")
        at("0.2.0", "churn#production")
        modelgit.bump(repo, "minor")
        at("0.2.0", "churn@v0.3.0")
    return found


def render(repo: Path, reference: str, **options) -> dict[str, str]:
    request = modelgit.ManifestRequest(reference, validate=True, **options)
    return dict(modelgit.manifest(repo, request).files)


def templates(files: dict[str, str]) -> dict[tuple[str, str], dict]:
    """Pod templates by (object, version)."""
    found = {}
    for document in invariants.documents(files):
        template = (document.get("spec") or {}).get("template")
        if document["kind"] in invariants.WORKLOADS and template:
            version = template["metadata"]["labels"]["app.kubernetes.io/version"]
            found[(document["metadata"]["name"], version)] = template
    return found


@pytest.mark.parametrize("case", sorted(STRATEGIES))
def test_renderings_keep_selectors_and_the_live_pods(renders, case):
    history = renders[case]
    for _, files in history:
        assert invariants.check(files) == []
    for (_, before), (_, after) in itertools.pairwise(history):
        assert invariants.compare(before, after) == []
        workloads = {
            d["metadata"]["name"]: d["spec"]["selector"]
            for d in invariants.documents(after)
            if d["kind"] in invariants.WORKLOADS
        }
        for d in invariants.documents(before):
            if d["kind"] in invariants.WORKLOADS and d["metadata"]["name"] in workloads:
                assert workloads[d["metadata"]["name"]] == d["spec"]["selector"]
                assert "app.kubernetes.io/version" not in str(d["spec"]["selector"])
    # The live version's pods: a Deployment that keeps its template (plain strategies), or
    # Argo's stable ReplicaSet, which the Rollout's strategy keeps until promotion or abort.
    for (_, before), (live, after) in itertools.pairwise(history):
        rollouts = [d for d in invariants.documents(after) if d["kind"] == "Rollout"]
        if rollouts:
            strategy = rollouts[0]["spec"]["strategy"]
            guarded = strategy.get("blueGreen", {}).get("autoPromotionEnabled") is False or (
                strategy.get("canary", {}).get("trafficRouting")
            )
            assert guarded and strategy.get("blueGreen", {}).get("previewService", True)
            continue
        kept = {k: t for k, t in templates(before).items() if k[1] == live}
        assert kept and all(templates(after)[k] == t for k, t in kept.items())
    # A version's pod template is the same in every rendering it appears in, whatever its role.
    seen: dict[str, dict] = {}
    for _, files in history:
        for (_, version), template in templates(files).items():
            assert seen.setdefault(version, template) == template, version
    # Two versions' pods load different bytes, not only different labels.
    loads = {
        version: (t["spec"].get("initContainers") or [{}])[0].get("args")
        for version, t in seen.items()
    }
    assert len(set(map(str, loads.values()))) == len(loads) == 3
