"""The deploy commands' API: render manifests for a version, and health-gated rollouts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelgit import config
from modelgit.deploy import manifests
from modelgit.deploy.validate import Checked, validate
from modelgit.errors import ManifestError
from modelgit.names import split_reference
from modelgit.registry import Event, ModelState
from modelgit.resolve import documents, model_state, pick, root_of


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
    uri = ""
    if storage:
        from modelgit.dvcproject import remote_url

        uri = remote_url(root, str(artifact.get("md5") or ""))
    return manifests.Variant(
        version=event.version or "",
        fingerprint=str(doc.get("fingerprint") or "unknown"),
        model_path=path,
        storage_uri=uri,
        weight=weight,
    )


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
    docs = documents(root, list(wanted.values()))
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


def manifest(
    repo: Path | str,
    reference: str | None,
    strategy: str | None = None,
    out: Path | str | None = None,
    *,
    image: str | None = None,
    namespace: str | None = None,
    replicas: int | None = None,
    weight: int | None = None,
    steps: tuple[int, ...] = (),
    router: str = "argo",
    switch: bool = False,
    weights: str | None = None,
    stable: str | None = None,
    check: bool = False,
    crd_schemas: Path | None = None,
    dry_run: bool = False,
) -> ManifestResult:
    """Render (and write into `out`) the manifests of `model[@vX.Y.Z|#stage]` for a strategy.

    Defaults come from `deploy:` in .modelgit.yaml. Everything is rendered, and validated
    when `check`, before anything is written; a refusal writes nothing.
    """
    root = root_of(repo)
    settings = config.load(root).deploy
    model, version, stage = split_reference(reference) if reference else (None, None, None)
    state = model_state(root, model)
    event = pick(state, version, stage)
    chosen = strategy or settings.get("strategy")
    if not chosen:
        raise ManifestError(
            "choose a --strategy (bluegreen, canary, ab, kserve) or set deploy.strategy"
        )
    if router not in ("argo", "istio"):
        raise ManifestError(f"unknown canary router {router!r}; use argo or istio")
    options = manifests.Options(
        strategy=str(chosen),
        image=image
        or str(settings.get("image") or f"{manifests.kubernetes_name(state.name)}:latest"),
        namespace=namespace or str(settings.get("namespace") or "default"),
        replicas=replicas or int(settings.get("replicas") or 1),
        port=int(settings.get("port") or 8080),
        weight=weight,
        steps=steps,
        router=router,
        switch=switch,
    )
    parsed = manifests.parse_weights(weights, state.name) if weights else None
    variants = _variants(root, state, event, options, parsed, stable)
    plan = manifests.plan(state.name, variants, options, project=root)
    checks = tuple(validate(plan.files, crd_schemas)) if check else ()
    failed = [c for c in checks if c.errors]
    if failed:
        first = failed[0]
        raise ManifestError(
            f"{first.file}: {first.kind} {first.name} does not validate against {first.schema}: "
            f"{first.errors[0]}"
        )
    written: tuple[str, ...] = ()
    if out is not None and not dry_run:
        written = tuple(str(p) for p in manifests.write(plan, Path(out), root))
    versions = tuple(dict.fromkeys(v.version for v in variants.values()))
    return ManifestResult(state.name, options.strategy, versions, plan.files, written, checks)
