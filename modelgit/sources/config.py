"""Project settings from `.modelgit.yaml` at the repository root (every key optional).

stages: [staging, production]          # the stages promote accepts
promotion_order: [staging, production] # a version enters a stage only after the one before
deploy:                                # defaults for `manifest` and `ci release`
  strategy: canary
  image: registry.example.com/churn-serving:1.4
  namespace: ml
  replicas: 2
  port: 8080
policy:                                # who may assign a stage (see registry/policy.py)
  production: {signed_by: [release-team], requires: [verify, scan], from: staging}
allowed_signers: .modelgit/allowed_signers  # git's SSH allowed-signers format, in the repo
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from modelgit.errors import ConfigError

FILE = ".modelgit.yaml"
DEFAULT_STAGES = ("staging", "production")
DEFAULT_ALLOWED_SIGNERS = ".modelgit/allowed_signers"


@dataclass(frozen=True)
class Config:
    """The project's modelgit settings."""

    stages: tuple[str, ...] = DEFAULT_STAGES
    promotion_order: tuple[str, ...] = ()
    deploy: dict[str, Any] = field(default_factory=dict)
    policy: dict[str, Any] = field(default_factory=dict)  # stage -> its rules, as written
    allowed_signers: str = DEFAULT_ALLOWED_SIGNERS  # a path relative to the repository root


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
    stages = tuple(str(s) for s in document.get("stages") or DEFAULT_STAGES)
    order = tuple(str(s) for s in document.get("promotion_order") or ())
    unknown = [s for s in order if s not in stages]
    if unknown:
        raise ConfigError(f"{FILE}: promotion_order names unknown stages: {', '.join(unknown)}")
    deploy = document.get("deploy") or {}
    if not isinstance(deploy, dict):
        raise ConfigError(f"{FILE}: `deploy:` must be a mapping")
    policy = document.get("policy") or {}
    if not isinstance(policy, dict):
        raise ConfigError(f"{FILE}: `policy:` must map stages to their rules")
    signers = document.get("allowed_signers") or DEFAULT_ALLOWED_SIGNERS
    if not isinstance(signers, str):
        raise ConfigError(f"{FILE}: `allowed_signers:` must be a path inside the repository")
    return Config(stages=stages, promotion_order=order, deploy=deploy, policy=policy,
                  allowed_signers=signers)  # fmt: skip
