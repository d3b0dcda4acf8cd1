"""Bump levels and the next version they give."""

from __future__ import annotations

import enum
from typing import Any


class Part(enum.Enum):
    """Which part of the version a bump raises."""

    MAJOR = "major"
    MINOR = "minor"
    PATCH = "patch"


_FIRST = {Part.MAJOR: "1.0.0", Part.MINOR: "0.1.0", Part.PATCH: "0.1.0"}


def next_version(previous: str | None, part: Part) -> str:
    """The version after `previous` (the first version when there is none)."""
    if previous is None:
        return _FIRST[part]
    import semver  # only bump needs version arithmetic; reading sorts with version_key

    current = semver.Version.parse(previous)
    if part is Part.MAJOR:
        return str(current.bump_major())
    if part is Part.MINOR:
        return str(current.bump_minor())
    # A pre-release bumps to its own release (1.2.0-rc.1 -> 1.2.0), as semver defines.
    if current.prerelease:
        return str(current.finalize_version())
    return str(current.bump_patch())


def version_key(version: str) -> tuple[Any, ...]:
    """A sort key with semver 2.0 precedence, far cheaper than comparing `semver.Version`s.

    A release sorts after its pre-releases; pre-release identifiers compare numerically when
    numeric, and numeric ones sort before alphanumeric ones; build metadata is ignored.
    """
    core, _, prerelease = version.partition("+")[0].partition("-")
    major, minor, patch = (int(part) for part in core.split("."))
    if not prerelease:
        return (major, minor, patch, (1,))
    identifiers = tuple(
        (0, int(item), "") if item.isdigit() else (1, 0, item) for item in prerelease.split(".")
    )
    return (major, minor, patch, (0, identifiers))


def is_greater(candidate: str, previous: str | None) -> bool:
    """True when `candidate` sorts after `previous` in semver order."""
    return previous is None or version_key(candidate) > version_key(previous)
