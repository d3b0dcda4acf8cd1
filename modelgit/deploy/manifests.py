"""Kubernetes manifests for a model version, per strategy: plan (pure) then write.

Templates are Jinja2 files under `templates/k8s/<strategy>/` shipped with modelgit; a project's
own `templates/k8s/...` overrides them file by file. Undefined template variables are errors.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelgit.errors import InvalidNameError, ManifestError, WeightsError
from modelgit.registry.tags import is_dns_label, model_from_tag
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


@dataclass(frozen=True)
class Variant:
    """One model version to serve."""

    version: str
    fingerprint: str
    model_path: str
    storage_uri: str = ""
    weight: float = 1.0
    runtime_version: str = ""  # kserve: the model format's version, from the environment

    @property
    def version_label(self) -> str:
        """The version as a Kubernetes label value (`+` build metadata is not allowed there)."""
        return _LABEL_VALUE.sub("-", self.version)[:63]

    @property
    def slug(self) -> str:
        """`v1-3-0`: the version as part of a resource or subset name."""
        return ("v" + re.sub(r"[^a-z0-9]+", "-", self.version.lower())).strip("-")[:40]

    @property
    def percent(self) -> int:
        """The weight as an integer percentage (Istio route weights are integers)."""
        return round(self.weight * 100)


@dataclass(frozen=True)
class Options:
    """What the user chose for the rendering."""

    strategy: str
    image: str
    namespace: str = "default"
    replicas: int = 1
    port: int = 8080
    health_path: str = "/healthz"
    weight: int | None = None  # canary / kserve: percent of traffic to the new version
    steps: tuple[int, ...] = ()  # canary (Argo): setWeight steps
    router: str = "argo"  # canary: argo | istio
    switch: bool = False  # bluegreen: only the Service, cutting over to this version
    header: str = "x-model-version"  # ab: the header carrying the router's assignment
    salt: str = ""  # ab: the router's salt
    model_format: str = "sklearn"  # kserve
    service_account: str = ""  # kserve: the pods' serviceAccountName (storage credentials)


@dataclass(frozen=True)
class Plan:
    """The files a rendering would write, by name, each a YAML text."""

    model: str
    strategy: str
    files: dict[str, str] = field(default_factory=dict)


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
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(paths),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # YAML, not HTML; values go through `tojson`
    )


def _template_names(strategy: str, options: Options) -> list[str]:
    directory = {"canary": "canary-istio" if options.router == "istio" else "canary"}.get(
        strategy, strategy
    )
    root = packaged_templates() / "k8s" / directory
    names = sorted(p.name for p in root.glob("*.yaml.j2"))
    if strategy == "bluegreen" and options.switch:
        names = ["service.yaml.j2"]
    return [f"{directory}/{name}" for name in names]


def plan(
    model: str,
    variants: dict[str, Variant],
    options: Options,
    project: Path | None = None,
) -> Plan:
    """Render the manifests of a strategy. `variants` holds the roles the strategy needs:
    bluegreen `active` (+ `other`), canary `stable` + `canary`, ab one entry per version,
    kserve `primary`."""
    import jinja2

    if options.strategy not in STRATEGIES:
        raise ManifestError(f"unknown strategy {options.strategy!r}; use {', '.join(STRATEGIES)}")
    name = kubernetes_name(model)
    context = _context(model, name, variants, options)
    environment = _environment(project)
    files = {}
    for template_name in _template_names(options.strategy, options):
        try:
            text = environment.get_template(template_name).render(**context)
        except jinja2.UndefinedError as exc:
            raise ManifestError(f"template {template_name}: {exc.message}") from exc
        except jinja2.TemplateError as exc:
            raise ManifestError(f"template {template_name} does not render: {exc}") from exc
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
        "image": options.image,
        "replicas": options.replicas,
        "port": options.port,
        "health_path": options.health_path,
        "host": f"{name}.{options.namespace}.svc.cluster.local",
    }
    if options.strategy == "bluegreen":
        active = variants["active"]
        other = variants.get("other", active)
        colours = _colours(active, other)
        chosen = next(c for c in colours if c["variant"] == active)
        return {**base, "colours": colours, "active": chosen}
    if options.strategy == "canary":
        weight = options.weight if options.weight is not None else (options.steps or (10,))[0]
        _check_percent(weight)
        steps = options.steps or (weight,)
        for step in steps:
            _check_percent(step)
        return {**base, "stable": variants["stable"], "canary": variants["canary"],
                "weight": weight, "steps": list(steps)}  # fmt: skip
    if options.strategy == "ab":
        listed = list(variants.values())
        weights = {v.version: v.weight for v in listed}
        salt = options.salt or f"{name}-ab"
        return {**base, "variants": listed, "primary": listed[0], "header": options.header,
                "salt": salt, "weights_json": json.dumps(weights)}  # fmt: skip
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


def _colours(active: Variant, other: Variant) -> list[dict[str, Any]]:
    """Blue and green: each version keeps its colour from one rendering to the next.

    A version's colour is fixed by its version string (even/odd of a stable hash), so that
    `--switch` and later renderings agree; two versions that collide take both colours, the
    active one keeping its own.
    """
    import hashlib

    def colour_of(variant: Variant) -> str:
        digest = hashlib.sha256(variant.version.encode()).digest()
        return "blue" if digest[0] % 2 == 0 else "green"

    if active == other:
        return [{"name": colour_of(active), "variant": active}]
    first = colour_of(active)
    second = "green" if first == "blue" else "blue"
    return sorted(
        [{"name": first, "variant": active}, {"name": second, "variant": other}],
        key=lambda c: c["name"],
    )


def _check_percent(value: int) -> None:
    if not 0 <= value <= 100:
        raise ManifestError(f"traffic percentage {value} is not between 0 and 100")


def parse_weights(text: str | Mapping[str, float], model: str) -> dict[str, float]:
    """`churn@v1.2.3=0.8,churn@v1.3.0=0.2` (or `v1.2.3=0.8,...`, or such a mapping) as
    {version: weight}."""
    from modelgit.deploy.routing import check_weights
    from modelgit.registry.tags import check_version

    if isinstance(text, Mapping):
        text = ",".join(f"{reference}={weight}" for reference, weight in text.items())
    weights: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        reference, sep, value = item.rpartition("=")
        if not sep:
            raise WeightsError(f"weight {item!r} needs the form VERSION=WEIGHT")
        named, at, version = reference.rpartition("@")
        if at and model_from_tag(named) != model:
            raise WeightsError(f"weight {item!r} names {named}, not {model}")
        try:
            weights[check_version(version)] = float(value)
        except ValueError as exc:
            raise WeightsError(f"weight {item!r}: {value!r} is not a number") from exc
    check_weights(weights)
    return weights


def write(plan: Plan, out: Path, project: Path) -> list[Path]:
    """Write the planned files into `out` (inside `project`); nothing is written on refusal."""
    resolved = out.resolve()
    if not resolved.is_relative_to(project.resolve()):
        raise ManifestError(f"--out {out} is outside the project; write manifests inside it")
    if resolved.exists() and not resolved.is_dir():
        raise ManifestError(f"--out {out} is a file, not a directory")
    # Checked against the path as given, so a symlinked --out is seen, not resolved away.
    return outputs.write_files(out.absolute(), plan.files, MARKER)
