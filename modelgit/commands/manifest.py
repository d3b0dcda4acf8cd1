"""The deploy commands' API: render manifests for a version, and health-gated rollouts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelgit.deploy import manifests
from modelgit.deploy.manifests import CanaryRouter, Strategy
from modelgit.deploy.validate import Checked, validate
from modelgit.errors import ManifestError
from modelgit.model import facts
from modelgit.registry.lookup import model_state, pick, root_of
from modelgit.registry.state import Event, ModelState
from modelgit.registry.tags import split_reference
from modelgit.sources import config
from modelgit.values import did_you_mean


@dataclass(frozen=True)
class ManifestResult:
    """What `manifest` rendered (and wrote, unless it was a dry run)."""

    model: str
    strategy: str
    versions: tuple[str, ...]
    files: dict[str, str]
    written: tuple[str, ...]
    checks: tuple[Checked, ...] = ()


def _variant(
    root: Path, event: Event, doc: dict[str, Any], storage: bool, weight: float = 1.0
) -> manifests.Variant:
    artifact = doc.get("artifact") or {}
    path = str(artifact.get("path") or "")
    return manifests.Variant(
        version=event.version or "",
        fingerprint=str(doc.get("fingerprint") or "unknown"),
        model_path=path,
        storage_uri=_published_uri(root, event) if storage else "",
        weight=weight,
        runtime_version=manifests.runtime_version(doc.get("environment")) if storage else "",
    )


def _published_uri(root: Path, event: Event) -> str:
    """KServe reads the version's published directory (`modelgit publish`), which must be in
    an object store its storage initializer can reach, not a path on this machine."""
    from modelgit.registry.published import published_prefix
    from modelgit.sources.dvc import default_remote_url

    url = default_remote_url(root)
    if url is None:
        raise ManifestError(
            "KServe reads models from the published copy in the DVC remote, and the project has "
            "none; add one with `dvc remote add -d NAME URL`, then `modelgit publish`"
        )
    if "://" not in url:
        raise ManifestError(
            f"the DVC remote {url} is a local path, which KServe pods cannot read; use an object "
            "store remote (s3://, gs://, azure://) for KServe"
        )
    return published_prefix(url, event.model, event.version or "")


def _variants(
    root: Path,
    state: ModelState,
    event: Event,
    options: manifests.Options,
    weights: dict[str, float] | None,
    stable_ref: str | None,
) -> dict[str, manifests.Variant]:
    strategy = options.strategy
    wanted: dict[str, Event] = {"primary": event}
    if strategy == "ab":
        if not weights:
            raise ManifestError(
                "the ab strategy needs --weights, e.g. churn@v1.2.3=0.8,churn@v1.3.0=0.2"
            )
        wanted = {version: pick(state, version, None) for version in weights}
    elif strategy in ("canary", "bluegreen"):
        _, version, stage = (
            split_reference(stable_ref) if stable_ref else (None, None, "production")
        )
        if version or (stage and state.stages.get(stage)):
            wanted["stable"] = pick(state, version, stage)
        elif strategy == "canary":
            raise ManifestError(
                f"a canary needs a stable version, and {stage} holds none; promote one or pass "
                "--stable"
            )
    docs = facts.read_documents(root, list(wanted.values()))
    variants = {
        role: _variant(root, e, docs[e.tag], strategy == "kserve", (weights or {}).get(role, 1.0))
        for role, e in wanted.items()
    }
    if strategy == "ab":
        return variants
    if strategy == "canary":
        return {"stable": variants["stable"], "canary": variants["primary"]}
    if strategy == "bluegreen":
        return {"active": variants["primary"], "other": variants.get("stable", variants["primary"])}
    return {"primary": variants["primary"]}


@dataclass(frozen=True)
class ManifestRequest:
    """What to render: the version, the strategy and its options (defaults from `deploy:`)."""

    reference: str | None = None  # MODEL, MODEL@vX.Y.Z or MODEL#stage (latest by default)
    strategy: Strategy | str | None = None  # default: deploy.strategy in .modelgit.yaml
    out: Path | str | None = None  # directory inside the project; None renders only
    image: str | None = None
    namespace: str | None = None
    replicas: int | None = None
    weight: int | None = None  # canary/kserve: percent of traffic to this version
    steps: tuple[int, ...] | str = ()  # canary (Argo): setWeight steps, or "10,30,60"
    router: CanaryRouter | str = CanaryRouter.ARGO
    switch: bool = False  # bluegreen: only the Service, cutting over
    weights: str | Mapping[str, float] | None = None  # ab: "churn@v1.2.3=0.8,churn@v1.3.0=0.2"
    stable: str | None = None  # canary/bluegreen: the live version (default: #production)
    service_account: str | None = None  # kserve: serviceAccountName (object store credentials)
    validate: bool = False  # validate against Kubernetes and CRD schemas first
    crd_schemas: Path | None = None  # a directory replacing the packaged CRD schemas
    dry_run: bool = False  # render (and validate) without writing

    def __post_init__(self) -> None:
        if self.strategy is not None and str(self.strategy) not in _STRATEGIES:
            raise ManifestError(
                f"unknown strategy {self.strategy!r}; use {', '.join(_STRATEGIES)}"
                + did_you_mean(str(self.strategy), _STRATEGIES)
            )
        if str(self.router) not in _ROUTERS:
            raise ManifestError(f"unknown canary router {self.router!r}; use argo or istio")


_STRATEGIES = tuple(s.value for s in Strategy)
_ROUTERS = tuple(r.value for r in CanaryRouter)


def parse_steps(steps: tuple[int, ...] | str) -> tuple[int, ...]:
    """Canary steps as percentages: a tuple, or text like `10,30,60`."""
    if not isinstance(steps, str):
        return tuple(steps)
    try:
        return tuple(int(step) for step in steps.split(",")) if steps.strip() else ()
    except ValueError as exc:
        raise ManifestError(f"--steps {steps!r} must be percentages like 10,30,60") from exc


def manifest(repo: Path | str = ".", request: ManifestRequest | None = None) -> ManifestResult:
    """Render (and write into `request.out`) the manifests of a version for a strategy.

    Defaults come from `deploy:` in .modelgit.yaml. Everything is rendered, and validated
    when asked, before anything is written; a refusal writes nothing.
    """
    request = request or ManifestRequest()
    root = root_of(repo)
    settings = config.load(root).deploy
    reference = request.reference
    model, version, stage = split_reference(reference) if reference else (None, None, None)
    state = model_state(root, model)
    event = pick(state, version, stage)
    chosen = request.strategy or settings.get("strategy")
    if not chosen:
        raise ManifestError(
            "choose a --strategy (bluegreen, canary, ab, kserve) or set deploy.strategy"
        )
    if str(chosen) not in {s.value for s in Strategy}:
        names = [s.value for s in Strategy]
        raise ManifestError(
            f"unknown strategy {chosen!r}; use {', '.join(names)}{did_you_mean(str(chosen), names)}"
        )
    if str(request.router) not in {r.value for r in CanaryRouter}:
        raise ManifestError(f"unknown canary router {request.router!r}; use argo or istio")
    options = manifests.Options(
        strategy=str(chosen),
        image=request.image
        or str(settings.get("image") or f"{manifests.kubernetes_name(state.name)}:latest"),
        namespace=request.namespace or str(settings.get("namespace") or "default"),
        replicas=request.replicas or int(settings.get("replicas") or 1),
        port=int(settings.get("port") or 8080),
        weight=request.weight,
        steps=parse_steps(request.steps),
        router=str(request.router),
        switch=request.switch,
        service_account=request.service_account or str(settings.get("service_account") or ""),
    )
    parsed = manifests.parse_weights(request.weights, state.name) if request.weights else None
    variants = _variants(root, state, event, options, parsed, request.stable)
    plan = manifests.plan(state.name, variants, options, project=root)
    checks = tuple(validate(plan.files, request.crd_schemas)) if request.validate else ()
    failed = [c for c in checks if c.errors]
    if failed:
        first = failed[0]
        raise ManifestError(
            f"{first.file}: {first.kind} {first.name} does not validate against {first.schema}: "
            f"{first.errors[0]}"
        )
    written: tuple[str, ...] = ()
    if request.out is not None and not request.dry_run:
        written = tuple(str(p) for p in manifests.write(plan, Path(request.out), root))
    versions = tuple(dict.fromkeys(v.version for v in variants.values()))
    return ManifestResult(state.name, options.strategy, versions, plan.files, written, checks)
