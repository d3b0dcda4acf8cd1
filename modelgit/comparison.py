"""Compare two snapshots of a model (metrics, params, files, stages, features); pure data."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from modelgit.snapshot import Snapshot

# Direction of common metric names when the artifact's meta does not say.
_LOWER = {
    "loss", "error", "err", "mse", "mae", "rmse", "mape", "msle", "latency", "time", "duration",
    "perplexity", "fpr", "fnr", "cost", "memory", "size", "logloss", "wer", "cer",
}  # fmt: skip
_HIGHER = {
    "accuracy", "acc", "f1", "auc", "roc", "precision", "recall", "r2", "map", "ndcg", "bleu",
    "rouge", "iou", "dice", "score", "tpr", "tnr", "specificity", "sensitivity", "throughput",
}  # fmt: skip


@dataclass(frozen=True)
class Side:
    """One end of a comparison."""

    label: str
    commit: str | None
    exists: bool


@dataclass(frozen=True)
class MetricChange:
    """One metric in both snapshots (or one of them)."""

    name: str
    file: str
    old: Any
    new: Any
    diff: float | None
    relative: float | None
    direction: str | None  # higher | lower | None when unknown
    verdict: str  # better | worse | unchanged | changed | added | removed


@dataclass(frozen=True)
class ValueChange:
    """A param: changed, added, removed or unchanged."""

    name: str
    old: Any
    new: Any
    status: str
    diff: float | None = None


@dataclass(frozen=True)
class FileChange:
    """The artifact or a DVC-tracked data file, by hash and size."""

    path: str
    kind: str  # artifact | data
    old_md5: str | None
    new_md5: str | None
    old_size: int | None
    new_size: int | None
    status: str  # modified | added | removed | unchanged


@dataclass(frozen=True)
class StageChange:
    """An upstream stage whose command or code changed."""

    name: str
    changes: tuple[str, ...]


@dataclass(frozen=True)
class FeatureChange:
    """An input feature or output of the declared schema."""

    name: str
    kind: str  # input | output
    old_type: str | None
    new_type: str | None
    status: str  # added | removed | retyped


@dataclass(frozen=True)
class Comparison:
    """Everything that differs between two snapshots of one model."""

    model: str
    a: Side
    b: Side
    metrics: tuple[MetricChange, ...]
    params: tuple[ValueChange, ...]
    files: tuple[FileChange, ...]
    stages: tuple[StageChange, ...]
    features: tuple[FeatureChange, ...]
    problems: tuple[str, ...]

    @property
    def changed(self) -> bool:
        """True when anything at all differs."""
        return (
            any(m.verdict != "unchanged" for m in self.metrics)
            or any(p.status != "unchanged" for p in self.params)
            or any(f.status != "unchanged" for f in self.files)
            or bool(self.stages or self.features)
        )


def direction_of(name: str, declared: dict[str, str]) -> str | None:
    """`higher` or `lower` is better for a metric: declared in meta, else guessed from its name."""
    leaf = name.rsplit(":", 1)[-1]
    for candidate in (name, leaf, leaf.rsplit(".", 1)[-1]):
        if candidate in declared:
            return declared[candidate]
    tokens = set(re.split(r"[._\-/ ]+", leaf.lower()))
    if tokens & _LOWER:
        return "lower"
    if tokens & _HIGHER:
        return "higher"
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _metric(name: str, file: str, old: Any, new: Any, direction: str | None) -> MetricChange:
    if old is None and new is not None:
        return MetricChange(name, file, None, new, None, None, direction, "added")
    if new is None:
        return MetricChange(name, file, old, None, None, None, direction, "removed")
    a, b = _number(old), _number(new)
    if a is None or b is None:
        verdict = "unchanged" if old == new else "changed"
        return MetricChange(name, file, old, new, None, None, direction, verdict)
    diff = b - a  # as `dvc metrics diff` computes it: new - old in floating point
    relative = diff / abs(a) if a else None
    if diff == 0:
        verdict = "unchanged"
    elif direction is None:
        verdict = "changed"
    else:
        verdict = "better" if (diff > 0) == (direction == "higher") else "worse"
    return MetricChange(name, file, old, new, diff, relative, direction, verdict)


def _metrics(a: Snapshot, b: Snapshot) -> list[MetricChange]:
    declared = {**a.directions, **b.directions}
    keys: dict[tuple[str, str], None] = {}
    for snapshot in (a, b):
        for file, values in snapshot.metrics.items():
            keys.update(dict.fromkeys((file, key) for key in values))
    names = [key for _, key in keys]
    changes = []
    for file, key in keys:
        name = key if names.count(key) == 1 else f"{file}:{key}"
        old = a.metrics.get(file, {}).get(key)
        new = b.metrics.get(file, {}).get(key)
        changes.append(_metric(name, file, old, new, direction_of(name, declared)))
    return changes


def _params(a: Snapshot, b: Snapshot) -> list[ValueChange]:
    changes = []
    for name in sorted(set(a.params) | set(b.params)):
        old, new = a.params.get(name), b.params.get(name)
        if name not in a.params:
            status = "added"
        elif name not in b.params:
            status = "removed"
        else:
            status = "unchanged" if old == new else "changed"
        x, y = _number(old), _number(new)
        diff = y - x if x is not None and y is not None and status == "changed" else None
        changes.append(ValueChange(name, old, new, status, diff))
    return changes


def _file(path: str, kind: str, old: Any, new: Any) -> FileChange:
    old_md5, new_md5 = getattr(old, "md5", None), getattr(new, "md5", None)
    if old is None:
        status = "added"
    elif new is None:
        status = "removed"
    else:
        status = "unchanged" if old_md5 == new_md5 else "modified"
    return FileChange(
        path, kind, old_md5, new_md5, getattr(old, "size", None), getattr(new, "size", None), status
    )


def _files(a: Snapshot, b: Snapshot) -> list[FileChange]:
    files = []
    if a.artifact or b.artifact:
        path = (b.artifact or a.artifact).path  # type: ignore[union-attr]
        files.append(_file(path, "artifact", a.artifact, b.artifact))
    for path in sorted(set(a.data) | set(b.data)):
        files.append(_file(path, "data", a.data.get(path), b.data.get(path)))
    return files


def _stages(a: Snapshot, b: Snapshot) -> list[StageChange]:
    changes = []
    for name in [*a.stages, *(s for s in b.stages if s not in a.stages)]:
        old, new = a.stages.get(name), b.stages.get(name)
        if old is None or new is None:
            what = ("stage added",) if old is None else ("stage removed",)
            if a.exists and b.exists:
                changes.append(StageChange(name, what))
            continue
        found = ["command changed"] if old["cmd"] != new["cmd"] else []
        for path in sorted(set(old["code"]) | set(new["code"])):
            if old["code"].get(path) != new["code"].get(path):
                found.append(f"code changed: {path}")
        if found:
            changes.append(StageChange(name, tuple(found)))
    return changes


def _fields(
    kind: str, old: dict[str, str] | None, new: dict[str, str] | None
) -> list[FeatureChange]:
    old, new = old or {}, new or {}
    changes = []
    for name in [*old, *(n for n in new if n not in old)]:
        if name not in new:
            changes.append(FeatureChange(name, kind, old[name], None, "removed"))
        elif name not in old:
            changes.append(FeatureChange(name, kind, None, new[name], "added"))
        elif old[name] != new[name]:
            changes.append(FeatureChange(name, kind, old[name], new[name], "retyped"))
    return changes


def compare(a: Snapshot, b: Snapshot) -> Comparison:
    """What changed from snapshot `a` to snapshot `b` of the same model."""
    features = []
    if a.exists and b.exists:
        features = _fields("input", a.features, b.features) + _fields(
            "output", a.outputs, b.outputs
        )
    return Comparison(
        model=b.model,
        a=Side(a.label, a.commit, a.exists),
        b=Side(b.label, b.commit, b.exists),
        metrics=tuple(_metrics(a, b)),
        params=tuple(_params(a, b)),
        files=tuple(_files(a, b)),
        stages=tuple(_stages(a, b)),
        features=tuple(features),
        problems=a.problems + b.problems,
    )
