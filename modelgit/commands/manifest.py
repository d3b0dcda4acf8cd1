"""The deploy commands' API: render manifests for a version, and health-gated rollouts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from modelgit.deploy import canary, invariants, manifests, slots
from modelgit.deploy.canary import Step, TrafficRouter
from modelgit.deploy.manifests import BlueGreenEngine, CanaryRouter, Strategy
from modelgit.deploy.validate import Checked, validate
from modelgit.deploy.weights import parse_weights
from modelgit.errors import ManifestError
from modelgit.model import facts
from modelgit.registry.lookup import model_state, pick, root_of
from modelgit.registry.published import published_artifact
from modelgit.registry.state import Event, ModelState
from modelgit.registry.tags import Action, split_reference
from modelgit.sources import config
from modelgit.values import TextEnum, did_you_mean


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
    root: Path,
    event: Event,
    doc: dict[str, Any],
    delivery: _Delivery,
    weight: float = 1.0,
) -> manifests.Variant:
    artifact = doc.get("artifact") or {}
    path = str(artifact.get("path") or "")
    md5 = str(artifact.get("md5") or "")
    version = event.version or ""
    model_uri = ""
    if delivery.remote is not None:
        model_uri = published_artifact(delivery.remote, event.model, version, Path(path).name)
    return manifests.Variant(
        version=version,
        fingerprint=str(doc.get("fingerprint") or "unknown"),
        model_path=path,
        storage_uri=_published_uri(root, event) if delivery.kserve else "",
        weight=weight,
        runtime_version=(
            manifests.runtime_version(doc.get("environment")) if delivery.kserve else ""
        ),
        model_uri=model_uri,
        is_directory=md5.endswith(".dir"),
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


@dataclass(frozen=True)
class _Delivery:
    """How pods get a version's bytes: KServe's storageUri, or the published location."""

    kserve: bool
    remote: str | None  # the default DVC remote's URL, for the storage initializer


def _delivery(root: Path, options: manifests.Options) -> _Delivery:
    if options.strategy == "kserve":
        return _Delivery(kserve=True, remote=None)
    if options.baked:
        return _Delivery(kserve=False, remote=None)
    from modelgit.sources.dvc import default_remote_url

    remote = default_remote_url(root)
    if remote is None:
        raise ManifestError(
            "pods download the model from where `modelgit publish` puts it, in the default DVC "
            "remote, and this project has none: add one (`dvc remote add -d NAME URL`), or "
            "bake the model into a per-version image (--image 'REGISTRY/{model}:{version}')"
        )
    return _Delivery(kserve=False, remote=remote)


def _stage_history(state: ModelState, stage: str) -> list[str]:
    """The versions a stage was assigned, in counter order."""
    moves = sorted(
        (e for e in state.events if e.stage == stage and e.action is Action.ASSIGN),
        key=lambda e: e.counter or 0,
    )
    return [str(e.version) for e in moves]


def _live(state: ModelState, stable_ref: str | None) -> tuple[Event | None, str | None]:
    """The live version (`--stable`, default what production holds) and the stage it is
    named by (None when --stable names a version)."""
    _, version, stage = split_reference(stable_ref) if stable_ref else (None, None, "production")
    if version:
        return pick(state, version, None), None
    stage = stage or "production"
    return (pick(state, None, stage) if state.stages.get(stage) else None), stage


def _roles(
    state: ModelState,
    event: Event,
    options: manifests.Options,
    request: ManifestRequest,
    weights: dict[str, float] | None,
    reference_stage: str | None,
) -> tuple[dict[str, Event], manifests.Options]:
    """Which version plays which part in the strategy (and, for plain blue-green, the slots)."""
    strategy = options.strategy
    if strategy == "ab":
        if not weights:
            raise ManifestError(
                "the ab strategy needs --weights, e.g. churn@v1.2.3=0.8,churn@v1.3.0=0.2"
            )
        return {version: pick(state, version, None) for version in weights}, options
    if strategy == "kserve":
        return {"primary": event}, options
    live, live_stage = _live(state, request.stable)
    if strategy == "canary":
        if live is None:
            raise ManifestError(
                f"a canary needs a stable version, and {live_stage} holds none; promote one or "
                "pass --stable"
            )
        if live.version == event.version and reference_stage != live_stage:
            raise ManifestError(
                f"v{event.version} is already the stable version ({live_stage or '--stable'}); "
                f"a canary needs a newer one (render {state.name}#{live_stage or 'production'} "
                "for the steady state)"
            )
        return {"stable": live, "canary": event}, options
    if options.engine == "plain":
        if live_stage is None:
            raise ManifestError(
                "plain blue-green takes its slots from a stage's history; pass --stable "
                f"{state.name}#STAGE, not a version"
            )
        holding = state.stages.get(live_stage)
        held, active, preview = slots.place(
            _stage_history(state, live_stage), str(holding) if holding else None, str(event.version)
        )
        roles = {slot: pick(state, version, None) for slot, version in held.items()}
        return roles, replace(options, active_slot=active, preview_slot=preview)
    if options.switch:
        raise ManifestError(
            "with Argo Rollouts, promotion cuts over (`kubectl argo rollouts promote`); "
            "--switch is for --engine plain"
        )
    roles = {"new": event}
    if live is not None and live.version != event.version:
        roles["live"] = live
    return roles, options


@dataclass(frozen=True)
class ManifestRequest:
    """What to render: the version, the strategy and its options (defaults from `deploy:`)."""

    reference: str | None = None  # MODEL, MODEL@vX.Y.Z or MODEL#stage (latest by default)
    strategy: Strategy | str | None = None  # default: deploy.strategy in .modelgit.yaml
    out: Path | str | None = None  # directory inside the project; None renders only
    image: str | None = None  # may hold {model} and {version}: a per-version image
    namespace: str | None = None
    replicas: int | None = None
    weight: int | None = None  # canary/kserve: percent of traffic to this version (first step)
    steps: tuple[int | Step, ...] | str = ()  # canary (Argo): "10:5m,30:10m,60:10m"
    router: CanaryRouter | str = CanaryRouter.ARGO
    switch: bool = False  # bluegreen (plain): only the Services
    weights: str | Mapping[str, float] | None = None  # ab: "churn@v1.2.3=0.8,churn@v1.3.0=0.2"
    stable: str | None = None  # canary/bluegreen: the live version (default: #production)
    service_account: str | None = None  # pods' serviceAccountName (object store credentials)
    validate: bool = False  # validate against Kubernetes and CRD schemas and the invariants
    crd_schemas: Path | None = None  # a directory replacing the packaged CRD schemas
    dry_run: bool = False  # render (and validate) without writing
    engine: BlueGreenEngine | str | None = None  # bluegreen: argo (default) or plain
    traffic: TrafficRouter | str | None = None  # canary (Argo): istio (default) or nginx
    analysis: bool | None = None  # Prometheus analysis; default: on for canaries only
    auto_promote: bool = False  # bluegreen (Argo): promote once the preview is ready
    storage_initializer: str | None = None  # the image that downloads the model

    def __post_init__(self) -> None:
        if self.strategy is not None and str(self.strategy) not in _STRATEGIES:
            raise ManifestError(
                f"unknown strategy {self.strategy!r}; use {', '.join(_STRATEGIES)}"
                + did_you_mean(str(self.strategy), _STRATEGIES)
            )
        if str(self.router) not in _ROUTERS:
            raise ManifestError(f"unknown canary router {self.router!r}; use argo or istio")
        _choice("--engine", self.engine, BlueGreenEngine)
        _choice("--traffic", self.traffic, TrafficRouter)


_STRATEGIES = tuple(s.value for s in Strategy)
_ROUTERS = tuple(r.value for r in CanaryRouter)


def _choice(option: str, value: Any, allowed: type[TextEnum]) -> None:
    names = [member.value for member in allowed]
    if value is not None and str(value) not in names:
        raise ManifestError(f"unknown {option} {value!r}; use {' or '.join(names)}")


def _options(
    request: ManifestRequest, strategy: str, settings: Mapping[str, Any], name: str
) -> manifests.Options:
    engine = str(request.engine or settings.get("engine") or BlueGreenEngine.ARGO)
    traffic = str(request.traffic or settings.get("traffic") or TrafficRouter.ISTIO)
    _choice("deploy.engine", engine, BlueGreenEngine)
    _choice("deploy.traffic", traffic, TrafficRouter)
    steps: tuple[Step, ...] = ()
    if strategy == "canary":
        steps = canary.parse_steps(
            request.steps or str(settings.get("steps") or canary.DEFAULT_STEPS)
        )
        if request.weight is not None and str(request.router) == CanaryRouter.ARGO:
            if not 0 < request.weight < 100:
                raise ManifestError(f"--weight {request.weight} must be between 1 and 99")
            steps = canary.starting_at(steps, request.weight)
    wanted = request.analysis
    if wanted is None:
        wanted = strategy == "canary"
    argo = (strategy == "canary" and str(request.router) == CanaryRouter.ARGO) or (
        strategy == "bluegreen" and engine == BlueGreenEngine.ARGO
    )
    analysis = canary.Analysis.from_settings(settings.get("analysis")) if wanted and argo else None
    return manifests.Options(
        strategy=strategy,
        image=request.image or str(settings.get("image") or f"{name}:latest"),
        namespace=request.namespace or str(settings.get("namespace") or "default"),
        replicas=request.replicas or int(settings.get("replicas") or 1),
        port=int(settings.get("port") or 8080),
        weight=request.weight,
        steps=steps,
        router=str(request.router),
        traffic=traffic,
        engine=engine,
        switch=request.switch,
        auto_promote=request.auto_promote,
        analysis=analysis,
        storage_initializer=request.storage_initializer
        or str(settings.get("storage_initializer") or manifests.DEFAULT_STORAGE_INITIALIZER),
        storage_secret=settings.get("storage_secret"),
        service_account=request.service_account or settings.get("service_account"),
    )


def manifest(repo: Path | str = ".", request: ManifestRequest | None = None) -> ManifestResult:
    """Render (and write into `request.out`) the manifests of a version for a strategy.

    Defaults come from `deploy:` in .modelgit.yaml. Everything is rendered, and validated
    when asked (schemas, then the invariants, also against the files already in `out`), before
    anything is written; a refusal writes nothing.
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
    if str(chosen) not in _STRATEGIES:
        raise ManifestError(
            f"unknown strategy {chosen!r}; use {', '.join(_STRATEGIES)}"
            + did_you_mean(str(chosen), _STRATEGIES)
        )
    name = manifests.kubernetes_name(state.name)
    options = _options(request, str(chosen), settings, name)
    parsed = parse_weights(request.weights, state.name) if request.weights else None
    roles, options = _roles(state, event, options, request, parsed, stage)
    docs = facts.read_documents(root, list(dict.fromkeys(roles.values())))
    delivery = _delivery(root, options)
    variants = {
        role: _variant(root, e, docs[e.tag], delivery, (parsed or {}).get(role, 1.0))
        for role, e in roles.items()
    }
    plan = manifests.plan(state.name, variants, options, project=root)
    checks: tuple[Checked, ...] = ()
    if request.validate:
        checks = tuple(validate(plan.files, request.crd_schemas))
        failed = [c for c in checks if c.errors]
        if failed:
            first = failed[0]
            raise ManifestError(
                f"{first.file}: {first.kind} {first.name} does not validate against "
                f"{first.schema}: {first.errors[0]}"
            )
        previous = _previous(Path(request.out), plan.files) if request.out is not None else {}
        problems = invariants.check(plan.files) + invariants.compare(previous, plan.files)
        if problems:
            raise ManifestError(f"the manifests break an invariant: {problems[0]}")
    written: tuple[str, ...] = ()
    if request.out is not None and not request.dry_run:
        written = tuple(str(p) for p in manifests.write(plan, Path(request.out), root))
    versions = tuple(dict.fromkeys(v.version for v in variants.values()))
    return ManifestResult(state.name, options.strategy, versions, plan.files, written, checks)


def _previous(out: Path, files: Mapping[str, str]) -> dict[str, str]:
    """The files of the same names that an earlier rendering wrote into `out`."""
    found = {}
    for name in files:
        path = out / name
        if path.is_file():
            text = path.read_text(errors="replace")
            if text.startswith(manifests.MARKER):
                found[name] = text
    return found
