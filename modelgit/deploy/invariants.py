"""What must hold of rendered manifests for them to deploy safely, beyond their schemas.

Within one rendering (`check`): workload selectors never name a version; every Service and
DestinationRule subset selects pods that some pod template of the set creates; the first
canary step can be expressed (a traffic router splits by percent; without one, by whole pods);
Istio route weights are integers summing to 100.
Across renderings (`compare`): an object keeps its selector (Kubernetes refuses to change one),
and an object that serves the same version renders the same pod template (a live version's
pods are never rewritten by rendering another one).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import yaml

VERSION_LABEL = "app.kubernetes.io/version"
WORKLOADS = ("Deployment", "Rollout", "StatefulSet", "ReplicaSet")


def documents(files: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every YAML document of every file, in order."""
    found: list[dict[str, Any]] = []
    for text in files.values():
        found.extend(d for d in yaml.safe_load_all(text) if isinstance(d, dict))
    return found


def _key(document: dict[str, Any]) -> str:
    return f"{document.get('kind')} {(document.get('metadata') or {}).get('name')}"


def _selector(document: dict[str, Any]) -> dict[str, str]:
    spec = document.get("spec") or {}
    if document.get("kind") in WORKLOADS:
        return dict((spec.get("selector") or {}).get("matchLabels") or {})
    if document.get("kind") == "Service":
        return dict(spec.get("selector") or {})
    return {}


def _template(document: dict[str, Any]) -> dict[str, Any] | None:
    if document.get("kind") not in WORKLOADS:
        return None
    template = (document.get("spec") or {}).get("template")
    return template if isinstance(template, dict) else None


def _template_labels(docs: list[dict[str, Any]]) -> list[dict[str, str]]:
    found = []
    for document in docs:
        template = _template(document)
        if template is not None:
            found.append(dict((template.get("metadata") or {}).get("labels") or {}))
    return found


def _selects(selector: Mapping[str, str], labels: list[dict[str, str]]) -> bool:
    return any(all(pod.get(k) == v for k, v in selector.items()) for pod in labels)


def check(files: Mapping[str, str]) -> list[str]:
    """Problems within one rendering, one sentence each (empty when there are none)."""
    docs = documents(files)
    pods = _template_labels(docs)
    problems = []
    for document in docs:
        kind, key = document.get("kind"), _key(document)
        selector = _selector(document)
        if kind in WORKLOADS and VERSION_LABEL in selector:
            problems.append(f"{key}'s selector names the version; selectors must not change")
        # A rendering with no pod templates (`--switch`) points at pods rendered before.
        if kind == "Service" and pods and selector and not _selects(selector, pods):
            problems.append(f"{key} selects no pods that a template here creates ({selector})")
        problems.extend(_subset_problems(document, pods))
        problems.extend(_weight_problems(document))
        problems.extend(_step_problems(document))
    return problems


def _subset_problems(document: dict[str, Any], pods: list[dict[str, str]]) -> Iterator[str]:
    if document.get("kind") != "DestinationRule":
        return
    for subset in (document.get("spec") or {}).get("subsets") or []:
        labels = subset.get("labels") or {}
        if pods and not _selects(labels, pods):
            yield f"{_key(document)} subset {subset.get('name')} selects no rendered pods"


def _weight_problems(document: dict[str, Any]) -> Iterator[str]:
    if document.get("kind") != "VirtualService":
        return
    for route in (document.get("spec") or {}).get("http") or []:
        destinations = route.get("route") or []
        weights = [d.get("weight") for d in destinations]
        if len(destinations) > 1 and (
            not all(isinstance(w, int) for w in weights) or sum(weights) != 100
        ):
            yield f"{_key(document)} route {route.get('name')} weights {weights} do not sum to 100"


def _step_problems(document: dict[str, Any]) -> Iterator[str]:
    """The first setWeight must be reachable: any percent with a traffic router, else a whole
    number of the Rollout's pods (Argo then splits by replica counts)."""
    if document.get("kind") != "Rollout":
        return
    spec = document.get("spec") or {}
    canary = (spec.get("strategy") or {}).get("canary")
    if not isinstance(canary, dict):
        return
    weights = [s["setWeight"] for s in canary.get("steps") or [] if "setWeight" in s]
    if not weights:
        return
    first, replicas = weights[0], int(spec.get("replicas") or 1)
    if canary.get("trafficRouting"):
        if not 0 < first <= 100:
            yield f"{_key(document)}'s first canary step {first}% is not a share of traffic"
    elif first * replicas % 100 or first * replicas < 100:
        yield (
            f"{_key(document)}'s first canary step {first}% cannot be expressed with "
            f"{replicas} pod(s) and no traffic router"
        )


def compare(before: Mapping[str, str], after: Mapping[str, str]) -> list[str]:
    """Problems between an earlier rendering and a new one (empty when there are none)."""
    old = {_key(d): d for d in documents(before)}
    problems = []
    for document in documents(after):
        key = _key(document)
        previous = old.get(key)
        if previous is None:
            continue
        changed = _selector(previous) != _selector(document)
        if changed and document.get("kind") in WORKLOADS:
            problems.append(f"{key} changes its selector, which Kubernetes refuses")
        template, earlier = _template(document), _template(previous)
        if template is None or earlier is None:
            continue
        if _version(template) == _version(earlier) and template != earlier:
            problems.append(
                f"{key} renders v{_version(template)}'s pod template differently from before"
            )
    return problems


def _version(template: dict[str, Any]) -> str | None:
    labels = (template.get("metadata") or {}).get("labels") or {}
    version = labels.get(VERSION_LABEL)
    return str(version) if version is not None else None
