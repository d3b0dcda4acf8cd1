"""Project settings from `.modelgit.yaml` at the repository root, checked against `SCHEMA`.

Every key is optional. The file as a whole, with the type each key takes:

stages: [staging, production]          # list of str: the stages promote accepts
promotion_order: [staging, production] # list of str: each stage takes versions from the one before
deploy:                                # defaults for `manifest` and `ci release`
  strategy: canary                     # str: bluegreen, canary, ab or kserve
  image: registry.example.com/churn-serving:1.4   # str
  namespace: ml                        # str
  replicas: 2                          # int
  port: 8080                           # int
  service_account: models-reader       # str: the pods' serviceAccountName (store credentials)
  weights: churn@v1.2.3=0.8,churn@v1.3.0=0.2   # str: ab weights for `ci release`
  engine: argo                         # str: bluegreen's engine, argo or plain
  traffic: istio                       # str: an Argo canary's traffic router, istio or nginx
  steps: 10:5m,30:10m,60:10m           # str: an Argo canary's weight:pause steps
  storage_initializer: kserve/storage-initializer:v0.20.0   # str: the image fetching models
  storage_secret: remote-credentials   # str: a Secret with the remote's credentials (env vars)
  analysis:                            # the Prometheus checks of a canary (defaults shown)
    prometheus: http://prometheus.istio-system.svc:9090   # str
    interval: 1m                       # str: a duration
    failure_limit: 1                   # int
    max_error_rate: 0.01               # number: share of 5xx answers
    max_p95_latency_ms: 500            # number
scan:
  allow: [mypkg.models.Churn, mypkg.*]  # list of str: globals a model pickle may import beyond
                                         # the built-in allow-list (MODULE.NAME or PACKAGE.*)
policy:                                # per stage: who may assign it and what must come first
  production:
    signed_by: [release-team]          # list of str: principals in the allowed-signers file
    requires: [verify]                 # list of str: checks that must pass first
    from: staging                      # str: the stage a version must come from
allowed_signers: .modelgit/allowed_signers  # str: a path, in git's allowedSignersFile format
retention:
  keep_last: 10                        # int
  keep_days: 90                        # int
  keep_stages: true                    # bool
  archive_stage: archived              # str

A wrong type or an unknown key is an input error naming the key, the type it takes and the
nearest known key. To add a key, add a row to `SCHEMA` (a `*` segment matches any name).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from modelgit.errors import ConfigError
from modelgit.values import DEFAULT_STAGES, DNS_LABEL

FILE = ".modelgit.yaml"
DEFAULT_ALLOWED_SIGNERS = ".modelgit/allowed_signers"
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
ALLOW_ENTRY = re.compile(rf"{_IDENT}(\.{_IDENT})*(\.\*)?")  # a scan.allow entry
# The rule promote applies: a stage names CI jobs, environments and Kubernetes labels, so it is a
# DNS-1123 label. GTO reads wider names in tags others wrote; modelgit only reads those.
_STAGE_RE = re.compile(rf"^{DNS_LABEL}$")
STAGE_RULE = (
    "lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63"
)


class KeyType(NamedTuple):
    """What one key takes: a name users read, and the check."""

    name: str
    accepts: Callable[[Any], bool]


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


STR = KeyType("str", lambda v: isinstance(v, str))
INT = KeyType("int", lambda v: isinstance(v, int) and not isinstance(v, bool))
BOOL = KeyType("bool", lambda v: isinstance(v, bool))
STR_LIST = KeyType("list of str", _is_str_list)
MAPPING = KeyType("mapping", lambda v: isinstance(v, dict))
NUMBER = KeyType("number", lambda v: isinstance(v, int | float) and not isinstance(v, bool))

# Dotted key -> its type. A mapping's children are the rows that extend its key.
SCHEMA: dict[str, KeyType] = {
    "stages": STR_LIST,
    "promotion_order": STR_LIST,
    "deploy": MAPPING,
    "deploy.strategy": STR,
    "deploy.image": STR,
    "deploy.namespace": STR,
    "deploy.replicas": INT,
    "deploy.port": INT,
    "deploy.service_account": STR,
    "deploy.weights": STR,
    "deploy.engine": STR,
    "deploy.traffic": STR,
    "deploy.steps": STR,
    "deploy.storage_initializer": STR,
    "deploy.storage_secret": STR,
    "deploy.analysis": MAPPING,
    "deploy.analysis.prometheus": STR,
    "deploy.analysis.interval": STR,
    "deploy.analysis.failure_limit": INT,
    "deploy.analysis.max_error_rate": NUMBER,
    "deploy.analysis.max_p95_latency_ms": NUMBER,
    "scan": MAPPING,
    "scan.allow": STR_LIST,
    "policy": MAPPING,
    "policy.*": MAPPING,
    "policy.*.signed_by": STR_LIST,
    "policy.*.requires": STR_LIST,
    "policy.*.from": STR,
    "allowed_signers": STR,
    "retention": MAPPING,
    "retention.keep_last": INT,
    "retention.keep_days": INT,
    "retention.keep_stages": BOOL,
    "retention.archive_stage": STR,
}


@dataclass(frozen=True)
class Config:
    """The project's modelgit settings; `document` is the whole checked file."""

    stages: tuple[str, ...] = DEFAULT_STAGES
    promotion_order: tuple[str, ...] = ()
    deploy: dict[str, Any] = field(default_factory=dict)
    policy: dict[str, Any] = field(default_factory=dict)  # stage -> its rules, as written
    allowed_signers: str = DEFAULT_ALLOWED_SIGNERS  # a path relative to the repository root
    document: dict[str, Any] = field(default_factory=dict)
    scan_allow: tuple[str, ...] = ()  # globals the project trusts its pickles to import

    def stage_order(self) -> tuple[str, ...]:
        """Stages in promotion order first, then the other configured stages."""
        return tuple(dict.fromkeys([*self.promotion_order, *self.stages]))

    def section(self, key: str) -> dict[str, Any]:
        """A top-level mapping of the file (`scan`, `policy`, `retention`...), empty if absent."""
        value = self.document.get(key)
        return value if isinstance(value, dict) else {}


def load(root: Path) -> Config:
    """The settings of the repository at `root` (defaults when it has no .modelgit.yaml)."""
    path = root / FILE
    if not path.is_file():
        return Config()
    return parse(path.read_text())


def parse(text: str) -> Config:
    """The settings a .modelgit.yaml document gives (from the work tree or from a revision)."""
    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{FILE} is not valid YAML: {str(exc).splitlines()[0]}") from exc
    if not isinstance(document, dict):
        raise ConfigError(f"{FILE} must be a YAML mapping")
    check(document)
    stages = tuple(document.get("stages") or DEFAULT_STAGES)
    check_stage_names(stages)
    order = tuple(document.get("promotion_order") or ())
    unknown = [s for s in order if s not in stages]
    if unknown:
        raise ConfigError(f"{FILE}: promotion_order names unknown stages: {', '.join(unknown)}")
    return Config(
        stages=stages,
        promotion_order=order,
        deploy=document.get("deploy") or {},
        policy=document.get("policy") or {},
        allowed_signers=document.get("allowed_signers") or DEFAULT_ALLOWED_SIGNERS,
        document=document,
        scan_allow=_scan_allow(document),
    )


def _scan_allow(document: dict[str, Any]) -> tuple[str, ...]:
    """`scan.allow` (its type checked by SCHEMA): each entry MODULE.NAME or PACKAGE.*."""
    entries = (document.get("scan") or {}).get("allow") or []
    bad = [entry for entry in entries if not ALLOW_ENTRY.fullmatch(entry)]
    if bad:
        raise ConfigError(
            f"{FILE}: `scan.allow` entries must be MODULE.NAME or PACKAGE.*, not: {', '.join(bad)}"
        )
    return tuple(entries)


def check_stage_names(stages: tuple[str, ...]) -> None:
    """Refuse a stage name promote would refuse (a DNS-1123 label), or one listed twice."""
    for stage in stages:
        if not _STAGE_RE.match(stage):
            raise ConfigError(
                f"{FILE}: {stage!r} in 'stages' is not a valid stage name; use {STAGE_RULE}"
            )
    twice = sorted({stage for stage in stages if stages.count(stage) > 1})
    if twice:
        raise ConfigError(f"{FILE}: 'stages' lists {', '.join(map(repr, twice))} more than once")


def check(document: dict[str, Any], prefix: str = "", pattern: str = "") -> None:
    """Raise ConfigError for the first unknown key or wrong type in `document`."""
    for key, value in document.items():
        dotted, rule = f"{prefix}{key}", _rule(pattern, str(key))
        if rule is None:
            raise ConfigError(
                f"{FILE}: unknown key {dotted!r}{_nearest(pattern, str(key), prefix)}"
            )
        found, kind = rule
        if value is None:
            continue  # an empty key is the same as an absent one
        if not kind.accepts(value):
            got = type(value).__name__
            raise ConfigError(
                f"{FILE}: {dotted!r} must be {_a(kind.name)}, not {_a(got)} ({value!r})"
            )
        if kind is MAPPING:
            check(value, f"{dotted}.", f"{found}.")


def _a(noun: str) -> str:
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"


def _rule(pattern: str, key: str) -> tuple[str, KeyType] | None:
    for candidate in (f"{pattern}{key}", f"{pattern}*"):
        if candidate in SCHEMA:
            return candidate, SCHEMA[candidate]
    return None


def _nearest(pattern: str, key: str, prefix: str) -> str:
    siblings = [k[len(pattern) :] for k in SCHEMA if k.startswith(pattern)]
    siblings = [k for k in siblings if "." not in k]
    close = difflib.get_close_matches(key.replace("-", "_"), siblings, n=1, cutoff=0.5)
    known = f"; known keys here: {', '.join(siblings)}"
    return f"; did you mean '{prefix}{close[0]}'?" if close else known
