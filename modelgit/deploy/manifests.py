"""Kubernetes manifests for a model version, per strategy: plan (pure) then write.

Templates are Jinja2 files under `templates/k8s/<strategy>/` shipped with modelgit; a project's
own `templates/k8s/...` overrides them file by file. Undefined template variables are errors.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from modelgit.deploy.canary import Analysis, Step
from modelgit.deploy.weights import percentages
from modelgit.errors import InvalidNameError, ManifestError
from modelgit.registry.tags import is_dns_label
from modelgit.sources import outputs
from modelgit.values import TextEnum

MARKER = outputs.YAML_MARKER
_PACKAGED = Path(__file__).parent.parent / "_templates"
_CHECKOUT = Path(__file__).parent.parent.parent / "templates"
_LABEL_VALUE = re.compile(r"[^A-Za-z0-9_.-]")


class Strategy(TextEnum):
    """How `manifest` deploys a version."""

    BLUEGREEN = "bluegreen"
    CANARY = "canary"
    AB = "ab"
    KSERVE = "kserve"


class CanaryRouter(TextEnum):
    """What shifts a canary's traffic: an Argo Rollout, or Istio VirtualService weights."""

    ARGO = "argo"
    ISTIO = "istio"


STRATEGIES = tuple(s.value for s in Strategy)


def packaged_templates() -> Path:
    """The templates that ship with modelgit: inside the wheel, or at a source checkout's root."""
    for candidate in (_PACKAGED, _CHECKOUT):
        if (candidate / "k8s").is_dir():
            return candidate
    raise ManifestError("the Kubernetes and CI templates are missing from this installation")


class BlueGreenEngine(TextEnum):
    """What runs a blue-green: an Argo Rollout, or two plain Deployments in fixed slots."""

    ARGO = "argo"
    PLAIN = "plain"


DEFAULT_STORAGE_INITIALIZER = "kserve/storage-initializer:v0.20.0"
MODEL_DIR = "/mnt/models"  # where KServe's storage initializer puts a model, and we too


@dataclass(frozen=True)
class Variant:
    """One model version to serve."""

    version: str
    fingerprint: str
    model_path: str  # the artifact's path in the repository
    storage_uri: str = ""  # kserve: the published location of the bytes
    weight: float = 1.0
    runtime_version: str = ""  # kserve: the model format's version, from the environment
    model_uri: str = ""  # what the storage initializer downloads: the published artifact
    is_directory: bool = False
    image: str = ""  # filled in by `plan` from Options.image
    percent: int = 100  # ab: this arm's integer share (largest remainder)

    @property
    def version_label(self) -> str:
        """The version as a Kubernetes label value (`+` build metadata is not allowed there)."""
        return _LABEL_VALUE.sub("-", self.version)[:63]

    @property
    def slug(self) -> str:
        """`v1-3-0`: the version as part of a resource or subset name."""
        return ("v" + re.sub(r"[^a-z0-9]+", "-", self.version.lower())).strip("-")[:40]

    @property
    def file_name(self) -> str:
        """The artifact's file name, as the storage initializer writes it under /mnt/models."""
        return Path(self.model_path).name

    @property
    def serving_path(self) -> str:
        """Where the serving container finds the model: `MODEL_PATH`."""
        return MODEL_DIR if self.is_directory else f"{MODEL_DIR}/{self.file_name}"


@dataclass(frozen=True)
class Options:
    """What the user chose for the rendering."""

    strategy: str
    image: str
    namespace: str = "default"
    replicas: int = 1
    port: int = 8080
    health_path: str = "/healthz"
    weight: int | None = None  # istio canary / kserve: percent of traffic to the new version
    steps: tuple[Step, ...] = ()  # canary (Argo): setWeight + timed pause per step
    router: str = "argo"  # canary: argo (Rollout) | istio (VirtualService weights only)
    traffic: str = "istio"  # canary (Argo): istio | nginx
    engine: str = "argo"  # bluegreen: argo | plain
    switch: bool = False  # bluegreen (plain): only the Services
    active_slot: str = ""  # bluegreen (plain): the slot production traffic reaches
    preview_slot: str = ""  # bluegreen (plain): the slot the rendered version runs in
    auto_promote: bool = False  # bluegreen (Argo): promote once the preview is ready
    analysis: Analysis | None = None  # canary: background; bluegreen: pre-promotion
    header: str = "x-model-version"  # ab: the header carrying the router's assignment
    salt: str = ""  # ab: the router's salt
    model_format: str = "sklearn"  # kserve
    storage_initializer: str = DEFAULT_STORAGE_INITIALIZER
    storage_secret: str | None = None  # a Secret with the remote's credentials (env vars)
    service_account: str | None = None  # pods' service account (workload identity)

    @property
    def baked(self) -> bool:
        """True when the image names the version itself, so no init container downloads it."""
        return "{version}" in self.image


@dataclass(frozen=True)
class Plan:
    """The files a rendering would write, by name, each a YAML text."""

    model: str
    strategy: str
    files: dict[str, str] = field(default_factory=dict)


def image_for(image: str, model: str, version: str) -> str:
    """`ghcr.io/acme/{model}:{version}` for one version (only those two placeholders)."""
    return image.replace("{model}", model).replace("{version}", version)


def kubernetes_name(model: str) -> str:
    """A model name as a DNS-1123 resource name (`nlp:intent` -> `nlp-intent`), or refuse it."""
    name = re.sub(r"[:/=]", "-", model)
    if not is_dns_label(name) or len(name) > 50:
        raise InvalidNameError(
            f"model name {model!r} cannot name Kubernetes objects: use lowercase letters, digits "
            "and '-' (at most 50 characters, leaving room for suffixes)"
        )
    return name


def _environment(project: Path | None) -> Any:
    import jinja2

    paths = []
    if project is not None and (project / "templates" / "k8s").is_dir():
        paths.append(str(project / "templates" / "k8s"))
    paths.append(str(packaged_templates() / "k8s"))
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(paths),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # YAML, not HTML; values go through `tojson`
    )
    # A JSON string is a YAML double-quoted scalar; Jinja's own filter escapes < > & for HTML.
    environment.filters["tojson"] = json.dumps
    return environment


def _directory(options: Options) -> str:
    if options.strategy == "canary" and options.router == "istio":
        return "canary-istio"
    if options.strategy == "bluegreen" and options.engine == "plain":
        return "bluegreen-plain"
    return options.strategy


def _template_names(options: Options) -> list[str]:
    directory = _directory(options)
    root = packaged_templates() / "k8s" / directory
    names = sorted(p.name for p in root.glob("*.yaml.j2"))
    if options.strategy == "bluegreen" and options.switch:
        names = ["services.yaml.j2"]
    return [f"{directory}/{name}" for name in names]


def plan(
    model: str,
    variants: dict[str, Variant],
    options: Options,
    project: Path | None = None,
) -> Plan:
    """Render the manifests of a strategy. `variants` holds the roles the strategy needs:
    bluegreen (Argo) `new` (+ `live`), bluegreen (plain) `blue`/`green`, canary `stable` +
    `canary`, ab one entry per version, kserve `primary`. A template that renders to nothing
    (an optional part left out) writes no file."""
    import jinja2

    if options.strategy not in STRATEGIES:
        raise ManifestError(f"unknown strategy {options.strategy!r}; use {', '.join(STRATEGIES)}")
    name = kubernetes_name(model)
    variants = {
        role: replace(v, image=image_for(options.image, name, v.version_label))
        for role, v in variants.items()
    }
    context = _context(model, name, variants, options)
    environment = _environment(project)
    files = {}
    for template_name in _template_names(options):
        try:
            text = environment.get_template(template_name).render(**context)
        except jinja2.UndefinedError as exc:
            raise ManifestError(f"template {template_name}: {exc.message}") from exc
        except jinja2.TemplateError as exc:
            raise ManifestError(f"template {template_name} does not render: {exc}") from exc
        if not text.replace("---", "").strip():
            continue
        target = template_name.split("/", 1)[1].removesuffix(".j2")
        header = f"{MARKER} for {model} ({options.strategy}); edits are overwritten.\n"
        files[target] = header + text.lstrip("\n")
    return Plan(model, options.strategy, files)


def _context(
    model: str, name: str, variants: dict[str, Variant], options: Options
) -> dict[str, Any]:
    base: dict[str, Any] = {
        "model": name,
        "model_name": model,
        "namespace": options.namespace,
        "replicas": options.replicas,
        "port": options.port,
        "health_path": options.health_path,
        "host": f"{name}.{options.namespace}.svc.cluster.local",
        "baked": options.baked,
        "model_dir": MODEL_DIR,
        "storage_initializer": options.storage_initializer,
        "storage_secret": options.storage_secret,
        "service_account": options.service_account,
        "analysis": options.analysis,
        "traffic": options.traffic,
    }
    if options.strategy == "bluegreen" and options.engine == "plain":
        return {**base, "slots": variants, "active_slot": options.active_slot,
                "preview_slot": options.preview_slot}  # fmt: skip
    if options.strategy == "bluegreen":
        new = variants["new"]
        return {**base, "new": new, "live": variants.get("live"),
                "auto_promote": options.auto_promote}  # fmt: skip
    if options.strategy == "canary":
        steps = list(options.steps)
        weight = options.weight if options.weight is not None else steps[0].weight if steps else 10
        _check_percent(weight)
        stable, canary = variants["stable"], variants["canary"]
        return {**base, "stable": stable, "canary": canary, "weight": weight, "steps": steps,
                "steady": stable.version == canary.version}  # fmt: skip
    if options.strategy == "ab":
        listed = list(variants.values())
        shares = percentages({v.version: v.weight for v in listed})
        listed = [replace(v, percent=shares[v.version]) for v in listed]
        salt = options.salt or f"{name}-ab"
        config = {v.version: v.percent / 100 for v in listed}
        return {**base, "variants": listed, "primary": listed[0], "header": options.header,
                "salt": salt, "weights_json": json.dumps(config)}  # fmt: skip
    if options.weight is not None:
        _check_percent(options.weight)
    return {**base, "primary": variants["primary"], "weight": options.weight,
            "model_format": options.model_format,
            "service_account": options.service_account}  # fmt: skip


# The package whose version is each KServe model format's version.
_FORMAT_PACKAGES = {"sklearn": "scikit-learn", "xgboost": "xgboost", "lightgbm": "lightgbm"}


def runtime_version(environment: Any, model_format: str = "sklearn") -> str:
    """The model format's major version as KServe's runtimes declare it (`scikit-learn 1.5.2`
    -> `1`), from a version's recorded environment; empty when it is not known.

    >>> runtime_version({"packages": {"scikit-learn": "1.5.2"}})
    '1'
    >>> runtime_version({})
    ''
    """
    packages = (environment or {}).get("packages") if isinstance(environment, dict) else None
    version = str((packages or {}).get(_FORMAT_PACKAGES.get(model_format, model_format)) or "")
    major = version.split(".", 1)[0]
    return major if major.isdigit() else ""


def _check_percent(value: int) -> None:
    if not 0 <= value <= 100:
        raise ManifestError(f"traffic percentage {value} is not between 0 and 100")


def write(plan: Plan, out: Path, project: Path) -> list[Path]:
    """Write the planned files into `out` (inside `project`); nothing is written on refusal."""
    resolved = out.resolve()
    if not resolved.is_relative_to(project.resolve()):
        raise ManifestError(f"--out {out} is outside the project; write manifests inside it")
    if resolved.exists() and not resolved.is_dir():
        raise ManifestError(f"--out {out} is a file, not a directory")
    # Checked against the path as given, so a symlinked --out is seen, not resolved away.
    return outputs.write_files(out.absolute(), plan.files, MARKER)
