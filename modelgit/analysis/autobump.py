"""`bump auto`: decide the level from what changed since the latest version, and say why."""

from __future__ import annotations

from modelgit.analysis.compare import Comparison
from modelgit.registry.versions import Part

BREAKING_MARKERS = ("BREAKING CHANGE", "BREAKING-CHANGE")


def is_breaking(subject: str, body: str) -> bool:
    """A commit that declares a breaking change (a footer, or conventional commits' `type!:`)."""
    head = subject.split(":", 1)[0] if ":" in subject else ""
    return head.endswith("!") or any(
        marker in body or marker in subject for marker in BREAKING_MARKERS
    )


def _fmt(value: object) -> str:
    return "-" if value is None else str(value)


def decide(comparison: Comparison, breaking: list[str]) -> tuple[Part, list[str]]:
    """The bump level DESIGN 3.5 gives for `comparison` plus breaking commits, with the reasons."""
    major: list[str] = [f"breaking change declared in commit {commit}" for commit in breaking]
    minor: list[str] = []
    for feature in comparison.features:
        if feature.kind == "output":
            major.append(f"output {feature.status}: {feature.name}")
        elif feature.status == "removed":
            major.append(f"feature removed: {feature.name}")
        elif feature.status == "retyped":
            major.append(
                f"feature type changed: {feature.name} {feature.old_type} -> {feature.new_type}"
            )
        else:
            minor.append(f"feature added: {feature.name}")
    for param in comparison.params:
        if param.status != "unchanged":
            minor.append(
                f"params {param.status}: {param.name} {_fmt(param.old)} -> {_fmt(param.new)}"
            )
    for file in comparison.files:
        if file.kind == "data" and file.status != "unchanged":
            minor.append(f"data {file.status}: {file.path}")
    for stage in comparison.stages:
        minor.extend(f"stage {stage.name}: {change}" for change in stage.changes)
    if major:
        return Part.MAJOR, major + minor
    if minor:
        return Part.MINOR, minor
    return Part.PATCH, ["artifact changed; no data, params, code or schema change"]
