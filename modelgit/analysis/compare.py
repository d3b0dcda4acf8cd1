"""Compare what two trees say about a model (metrics, params, files, stages, schema). Pure.

The two sides are usually one model at two revisions; they may be two different models
(`diff clf@v0.1.0 encoder@v0.1.0`), each read as itself and labelled with its name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modelgit.model.facts import Facts
from modelgit.model.metrics import direction_of, key_metric, metric_names
from modelgit.values import TextEnum, difference, is_number, relative_change


class Verdict(TextEnum):
    """How a metric moved; better or worse only when its direction is known."""

    BETTER = "better"
    WORSE = "worse"
    UNCHANGED = "unchanged"
    CHANGED = "changed"
    ADDED = "added"
    REMOVED = "removed"


class Change(TextEnum):
    """What happened to a param, file or schema field between the two sides."""

    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"  # a param's value
    MODIFIED = "modified"  # a file's bytes
    RETYPED = "retyped"  # a schema field's type
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class ComparedSide:
    """One end of a comparison."""

    label: str
    commit: str | None
    exists: bool
    model: str = ""  # the model this side is (two models differ only when asked for)
    basis: str = "declared"  # how its facts were found: see `model.facts.Facts.basis`


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
    verdict: Verdict


@dataclass(frozen=True)
class ValueChange:
    """A param: changed, added, removed or unchanged."""

    name: str
    old: Any
    new: Any
    status: Change
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
    status: Change


@dataclass(frozen=True)
class PipelineStageChange:
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
    status: Change


@dataclass(frozen=True)
class Comparison:
    """Everything that differs between two snapshots of one model."""

    model: str
    a: ComparedSide
    b: ComparedSide
    metrics: tuple[MetricChange, ...]
    params: tuple[ValueChange, ...]
    files: tuple[FileChange, ...]
    stages: tuple[PipelineStageChange, ...]
    features: tuple[FeatureChange, ...]
    problems: tuple[str, ...]
    key_metric: str | None = None  # the metric to headline, by `model.metrics.key_metric`

    @property
    def models(self) -> tuple[str, ...]:
        """The model compared, or the two models when the sides are different models."""
        names = (self.a.model or self.model, self.b.model or self.model)
        return names[:1] if names[0] == names[1] else names

    @property
    def changed(self) -> bool:
        """True when anything at all differs."""
        return (
            any(m.verdict is not Verdict.UNCHANGED for m in self.metrics)
            or any(p.status is not Change.UNCHANGED for p in self.params)
            or any(f.status is not Change.UNCHANGED for f in self.files)
            or bool(self.stages or self.features)
        )


def _metric(name: str, file: str, old: Any, new: Any, direction: str | None) -> MetricChange:
    if old is None and new is not None:
        return MetricChange(name, file, None, new, None, None, direction, Verdict.ADDED)
    if new is None:
        return MetricChange(name, file, old, None, None, None, direction, Verdict.REMOVED)
    if not (is_number(old) and is_number(new)):
        verdict = Verdict.UNCHANGED if old == new else Verdict.CHANGED
        return MetricChange(name, file, old, new, None, None, direction, verdict)
    diff = difference(old, new)  # new - old as `dvc metrics diff`, without its float noise
    relative = relative_change(old, diff)
    if diff == 0:
        verdict = Verdict.UNCHANGED
    elif direction is None:
        verdict = Verdict.CHANGED
    else:
        verdict = Verdict.BETTER if (diff > 0) == (direction == "higher") else Verdict.WORSE
    return MetricChange(name, file, old, new, diff, relative, direction, verdict)


def _metrics(a: Facts, b: Facts) -> list[MetricChange]:
    declared = {**a.directions, **b.directions}
    keys: dict[tuple[str, str], None] = {}
    for side in (a, b):
        for file, values in side.metrics.items():
            keys.update(dict.fromkeys((file, key) for key in values))
    names = metric_names(list(keys))
    changes = []
    for file, key in keys:
        name = names[(file, key)]
        old = a.metrics.get(file, {}).get(key)
        new = b.metrics.get(file, {}).get(key)
        changes.append(_metric(name, file, old, new, direction_of(name, declared)))
    return changes


def _params(a: Facts, b: Facts) -> list[ValueChange]:
    changes = []
    for name in sorted(set(a.params) | set(b.params)):
        old, new = a.params.get(name), b.params.get(name)
        if name not in a.params:
            status = Change.ADDED
        elif name not in b.params:
            status = Change.REMOVED
        else:
            status = Change.UNCHANGED if old == new else Change.CHANGED
        diff = None
        if status is Change.CHANGED and is_number(old) and is_number(new):
            diff = difference(old, new)
        changes.append(ValueChange(name, old, new, status, diff))
    return changes


def _file(path: str, kind: str, old: Any, new: Any) -> FileChange:
    old_md5, new_md5 = getattr(old, "md5", None), getattr(new, "md5", None)
    if old is None:
        status = Change.ADDED
    elif new is None:
        status = Change.REMOVED
    else:
        status = Change.UNCHANGED if old_md5 == new_md5 else Change.MODIFIED
    return FileChange(
        path, kind, old_md5, new_md5, getattr(old, "size", None), getattr(new, "size", None), status
    )


def _files(a: Facts, b: Facts) -> list[FileChange]:
    files = []
    artifact = b.artifact or a.artifact
    if artifact is not None:
        path = artifact.path
        if a.artifact is not None and b.artifact is not None and a.artifact.path != path:
            path = f"{a.artifact.path} -> {path}"  # two models, or a moved artifact
        files.append(_file(path, "artifact", a.artifact, b.artifact))
    for path in sorted(set(a.data) | set(b.data)):
        files.append(_file(path, "data", a.data.get(path), b.data.get(path)))
    return files


def _stages(a: Facts, b: Facts) -> list[PipelineStageChange]:
    changes = []
    for name in [*a.stages, *(s for s in b.stages if s not in a.stages)]:
        old, new = a.stages.get(name), b.stages.get(name)
        if old is None or new is None:
            what = ("stage added",) if old is None else ("stage removed",)
            if a.exists and b.exists:
                changes.append(PipelineStageChange(name, what))
            continue
        found = ["command changed"] if old["cmd"] != new["cmd"] else []
        for path in sorted(set(old["code"]) | set(new["code"])):
            if old["code"].get(path) != new["code"].get(path):
                found.append(f"code changed: {path}")
        if found:
            changes.append(PipelineStageChange(name, tuple(found)))
    return changes


def _fields(
    kind: str, old: dict[str, str] | None, new: dict[str, str] | None
) -> list[FeatureChange]:
    old, new = old or {}, new or {}
    changes = []
    for name in [*old, *(n for n in new if n not in old)]:
        if name not in new:
            changes.append(FeatureChange(name, kind, old[name], None, Change.REMOVED))
        elif name not in old:
            changes.append(FeatureChange(name, kind, None, new[name], Change.ADDED))
        elif old[name] != new[name]:
            changes.append(FeatureChange(name, kind, old[name], new[name], Change.RETYPED))
    return changes


def _key_metric(a: Facts, b: Facts, metrics: list[MetricChange]) -> str | None:
    """The headline metric among those both sides can compare, chosen as facts choose it."""
    comparable = {
        m.name: m.new for m in metrics if m.diff is not None or m.verdict is Verdict.UNCHANGED
    }
    directions = {m.name: m.direction for m in metrics if m.direction}
    preferred = b.preferred_metric or a.preferred_metric
    return key_metric(comparable, directions, preferred)  # type: ignore[arg-type]


def compare(a: Facts, b: Facts) -> Comparison:
    """What changed from side `a` to side `b` (of one model, or of two when asked)."""
    features = []
    if a.exists and b.exists:
        features = _fields("input", a.features, b.features) + _fields(
            "output", a.outputs, b.outputs
        )
    metrics = _metrics(a, b)
    return Comparison(
        model=b.model if a.model == b.model else f"{a.model} vs {b.model}",
        a=ComparedSide(a.label, a.commit, a.exists, a.model, a.basis),
        b=ComparedSide(b.label, b.commit, b.exists, b.model, b.basis),
        metrics=tuple(metrics),
        params=tuple(_params(a, b)),
        files=tuple(_files(a, b)),
        stages=tuple(_stages(a, b)),
        features=tuple(features),
        problems=a.problems + b.problems,
        key_metric=_key_metric(a, b, metrics),
    )
