"""Semantic versions: the `Version` value, bump levels, and semver-precedence ordering."""

from __future__ import annotations

import functools
import re
from typing import Any

from modelgit.errors import InvalidNameError
from modelgit.values import TextEnum, did_you_mean

# The semver 2.0 grammar (GTO's), shared by tag parsing and Version.parse.
SEMVER_PATTERN = (
    r"(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)"
    r"(?:-(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*)?"
    r"(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?"
)
_SEMVER_RE = re.compile(SEMVER_PATTERN)


class Part(TextEnum):
    """Which part of the version a bump raises."""

    MAJOR = "major"
    MINOR = "minor"
    PATCH = "patch"


_FIRST = {Part.MAJOR: "1.0.0", Part.MINOR: "0.1.0", Part.PATCH: "0.1.0"}


class Level(TextEnum):
    """What `bump` raises: a part of the version, or `auto` to decide from what changed."""

    MAJOR = "major"
    MINOR = "minor"
    PATCH = "patch"
    AUTO = "auto"

    @classmethod
    def parse(cls, value: object) -> Level:
        """The level `value` names: a Level, a Part, or its text in any case.

        >>> Level.parse("MINOR"), Level.parse(Part.PATCH)
        (<Level.MINOR: 'minor'>, <Level.PATCH: 'patch'>)
        """
        text = str(getattr(value, "value", value)).lower()
        try:
            return cls(text)
        except ValueError:
            choices = [level.value for level in cls]
            raise InvalidNameError(
                f"unknown bump level {value!r}; use one of {', '.join(choices)}"
                + did_you_mean(text, choices)
            ) from None


class Version(str):
    """An immutable semantic version (semver 2.0) such as ``1.2.3`` or ``1.2.0-rc.1+build.5``.

    Why a ``str`` subclass: a version *is* its canonical text everywhere outside this class. As a
    ``str`` it serialises through ``json.dumps`` and ``dataclasses.asdict`` as the plain string,
    prints as ``1.2.3`` in f-strings, equals and hashes like the plain string (so it can stand in
    for one as a dict key or in ``==`` checks), and costs one string allocation to build. Only the
    ordering differs from ``str``: ``<``, ``<=``, ``>`` and ``>=`` follow semver precedence through
    `version_key`, also against plain strings (which must then be valid versions).
    ``__eq__``/``__hash__`` stay those of ``str``, so two versions that differ only in build
    metadata are unequal yet neither sorts before the other.

    ``Version(text)`` does no checking, for text that is already a validated version without a
    ``v`` (tags parsed by the registry); ``Version.parse`` validates user input.

    >>> v = Version.parse("v1.2.0-rc.1")
    >>> v
    Version('1.2.0-rc.1')
    >>> (v.major, v.minor, v.patch, v.prerelease)
    (1, 2, 0, 'rc.1')
    >>> f"{v}", v == "1.2.0-rc.1"
    ('1.2.0-rc.1', True)
    >>> v < Version("1.2.0") < Version("1.10.0")
    True
    >>> Version("1.10.0") > "1.9.0"
    True
    >>> sorted([Version("1.10.0"), Version("1.2.0"), Version("1.2.0-rc.1"), Version("1.9.0")])
    [Version('1.2.0-rc.1'), Version('1.2.0'), Version('1.9.0'), Version('1.10.0')]
    >>> v.bump(Part.PATCH), v.bump(Part.MINOR), v.bump(Part.MAJOR)
    (Version('1.2.0'), Version('1.3.0'), Version('2.0.0'))
    >>> import json
    >>> json.dumps({"version": v.bump(Part.PATCH)})
    '{"version": "1.2.0"}'

    Sorting many versions is cheapest with ``sorted(versions, key=version_key)``, which computes
    each key once instead of twice per comparison.
    """

    __slots__ = ()

    @classmethod
    def parse(cls, text: str) -> Version:
        """Validate `text` (``1.2.3`` or ``v1.2.3``) as a semver 2.0 version.

        >>> Version.parse("v2.0.0+build.7")
        Version('2.0.0+build.7')
        >>> Version.parse("1.2")
        Traceback (most recent call last):
        ...
        modelgit.errors.InvalidNameError: '1.2' is not a semantic version like 1.2.3
        """
        version = text[1:] if text.startswith("v") else text
        # fullmatch: the pattern's `$` alone would also accept a trailing newline.
        if _SEMVER_RE.fullmatch(version) is None:
            raise InvalidNameError(f"{text!r} is not a semantic version like 1.2.3")
        return cls(version)

    @classmethod
    def first(cls, part: Part) -> Version:
        """The first version a model gets when bumped at `part`.

        >>> Version.first(Part.MAJOR), Version.first(Part.PATCH)
        (Version('1.0.0'), Version('0.1.0'))
        """
        return cls(_FIRST[part])

    def bump(self, part: Part) -> Version:
        """The next version at `part`; a pre-release bumps to its own release on patch.

        >>> Version("1.2.3").bump(Part.PATCH), Version("1.2.3+b.1").bump(Part.MINOR)
        (Version('1.2.4'), Version('1.3.0'))
        >>> Version("1.2.0-rc.1").bump(Part.PATCH)
        Version('1.2.0')
        """
        import semver  # only bumping needs version arithmetic; reading sorts with version_key

        current = semver.Version.parse(str(self))
        if part is Part.MAJOR:
            bumped = current.bump_major()
        elif part is Part.MINOR:
            bumped = current.bump_minor()
        elif current.prerelease:
            # A pre-release bumps to its own release (1.2.0-rc.1 -> 1.2.0), as semver defines.
            bumped = current.finalize_version()
        else:
            bumped = current.bump_patch()
        return type(self)(str(bumped))

    @property
    def major(self) -> int:
        """The major number."""
        return int(self._core()[0])

    @property
    def minor(self) -> int:
        """The minor number."""
        return int(self._core()[1])

    @property
    def patch(self) -> int:
        """The patch number."""
        return int(self._core()[2])

    @property
    def prerelease(self) -> str | None:
        """The pre-release identifiers (``rc.1`` in ``1.2.0-rc.1``), or None for a release."""
        return self.partition("+")[0].partition("-")[2] or None

    @property
    def build(self) -> str | None:
        """The build metadata (``b.5`` in ``1.2.0+b.5``), or None when there is none."""
        return self.partition("+")[2] or None

    def _core(self) -> list[str]:
        """The major, minor and patch numbers as text."""
        return self.partition("+")[0].partition("-")[0].split(".")

    def __repr__(self) -> str:
        """``Version('1.2.3')``, distinct from the plain string's repr."""
        return f"{type(self).__name__}({str.__repr__(self)})"

    def __lt__(self, other: object) -> bool:
        """Semver precedence; plain strings are read as versions."""
        if not isinstance(other, str):
            return NotImplemented
        return version_key(self) < version_key(other)

    def __le__(self, other: object) -> bool:
        """Semver precedence; plain strings are read as versions."""
        if not isinstance(other, str):
            return NotImplemented
        return version_key(self) <= version_key(other)

    def __gt__(self, other: object) -> bool:
        """Semver precedence; plain strings are read as versions."""
        if not isinstance(other, str):
            return NotImplemented
        return version_key(self) > version_key(other)

    def __ge__(self, other: object) -> bool:
        """Semver precedence; plain strings are read as versions."""
        if not isinstance(other, str):
            return NotImplemented
        return version_key(self) >= version_key(other)


def next_version(previous: str | None, part: Part) -> str:
    """The version after `previous` (the first version when there is none)."""
    if previous is None:
        return _FIRST[part]
    return str(Version(previous).bump(part))


@functools.lru_cache(maxsize=4096)  # registries repeat the same versions across models
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
