"""What `list`, `show` and `history` return, local or `--remote`: frozen values that need no
registry code, so reading a remote registry imports only what it uses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class KeyMetric:
    """The metric a version headlines, and its value."""

    name: str
    value: Any


@dataclass(frozen=True)
class ModelSummary:
    """One row of `list`: a model, its latest version and the version in each stage."""

    name: str
    latest: str | None
    stages: dict[str, str | None]
    deprecated: bool = False
    declared: bool | None = True  # None when unknown: a remote read reads no dvc.yaml
    # With `list_models(metrics=True)`: "latest" or a stage -> its version's key metric.
    metrics: dict[str, KeyMetric] | None = None


@dataclass(frozen=True)
class VersionInfo:
    """One version as `show` reports it: the tag, its commit and its metadata document."""

    model: str
    version: str
    tag: str
    commit: str
    metadata: dict[str, Any]  # the tag's document as written (its `stages` are pipeline stages)
    assigned_stages: tuple[str, ...] = ()  # the registry stages that hold this version now
    deprecated: bool = False  # deregistered since (`<name>@vX.Y.Z!`); still readable history
    signed: bool = False
    derived: bool = False  # True when the tag carried no metadata (e.g. GTO wrote it)
    problem: str | None = None  # why the tag's own metadata could not be used
    key_metric: str | None = None  # the metric this model headlines (declared or guessed)
    model_deprecated: bool = False  # the whole model was deprecated (`<name>@deprecated`)


@dataclass(frozen=True)
class HistoryEntry:
    """One registry event, as `history` lists them (newest first)."""

    event: str
    version: str | None
    stage: str | None
    tag: str
    commit: str
    created_at: str | None  # None read remotely: ls-remote carries no dates
    author: str
    deprecated: bool = False  # a registration whose version was deregistered since
