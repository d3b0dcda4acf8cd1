"""The tag grammar (GTO-compatible): parse and format are exact inverses.

Version tag      ``<name>@v<semver>``        deregistration  ``<name>@v<semver>!``
Stage assignment ``<name>#<stage>#<N>``      unassignment    ``<name>#<stage>!#<N>``
Model deprecated ``<name>@deprecated``
A model declared in ``sub/dvc.yaml`` is named ``sub:name``; in tags ``:`` becomes ``=``.
"""

from __future__ import annotations

import enum
import functools
import re
from typing import NamedTuple

from modelgit.errors import InvalidNameError
from modelgit.registry.versions import SEMVER_PATTERN, Version
from modelgit.values import DNS_LABEL, GTO_NAME

# The grammar GTO reads, so that tags either tool wrote are understood by both.
_NAME = GTO_NAME
_DIRNAME = r"[a-zA-Z0-9\-_./]+"
_ARTIFACT = rf"(?:{_DIRNAME}=)?{_NAME}"
_SUFFIX = (
    rf"(?:(?:#(?P<stage>{_NAME})|@v(?P<version>{SEMVER_PATTERN}))(?P<cancel>!?)|@(?P<deprecated>deprecated))"
    r"(?:#(?P<counter>[0-9]+))?"
)
# The whole grammar, for reference and for the test that the split parse below agrees with it
# (a pattern, not compiled here: compiling it would cost every command a millisecond).
TAG_PATTERN = rf"(?P<artifact>{_ARTIFACT}){_SUFFIX}"  # use with re.fullmatch
# Neither part of an artifact name may hold `@` or `#`, so a tag splits at the first of them
# into the artifact and a suffix; a registry repeats both (50 models, 250 versions, a few
# stages), so each distinct part is matched once and parsing thousands of tags is lookups.
_ARTIFACT_RE = re.compile(rf"{_ARTIFACT}")
_SUFFIX_RE = re.compile(_SUFFIX)
_MODEL_RE = re.compile(rf"^(?:{_DIRNAME}:)?{_NAME}$")
# Kubernetes DNS-1123 label: names modelgit creates must be usable as labels unchanged.
_DNS1123_RE = re.compile(rf"^{DNS_LABEL}$")


class Action(enum.Enum):
    """What a tag records."""

    REGISTER = "registration"
    DEREGISTER = "deregistration"
    ASSIGN = "assignment"
    UNASSIGN = "unassignment"
    DEPRECATE = "deprecation"


class TagName(NamedTuple):
    """One parsed registry tag name (a tuple: the registry parses thousands at a time)."""

    model: str
    action: Action
    version: Version | None = None
    stage: str | None = None
    counter: int | None = None


def model_to_tag(model: str) -> str:
    """Spell a model name as it appears inside a tag (`sub:name` -> `sub=name`)."""
    return model.replace(":", "=")


def model_from_tag(name: str) -> str:
    """A model name as tags (and users copying them) spell it, `sub=name`, as `sub:name`."""
    return name.replace("=", ":")


def parse_tag(tag: str) -> TagName | None:
    """Parse a tag name; None for any tag outside the registry grammar."""
    fields = tag_fields(tag)
    return None if fields is None else TagName(*fields)


def tag_fields(tag: str) -> tuple[str, Action, Version | None, str | None, int | None] | None:
    """`parse_tag`'s fields as a plain tuple (model, action, version, stage, counter), for
    reading thousands of tags at a time; None for any tag outside the registry grammar."""
    at, hashed = tag.find("@"), tag.find("#")
    cut = at if hashed < 0 or 0 <= at < hashed else hashed
    if cut < 0:
        return None
    model = model_part(tag[:cut])
    rest = suffix_part(tag[cut:])
    if model is None or rest is None:
        return None
    return (model, *rest)


@functools.lru_cache(maxsize=4096)
def model_part(artifact: str) -> str | None:
    """The model an artifact spelling names (`sub=name` -> `sub:name`), None if invalid."""
    return model_from_tag(artifact) if _ARTIFACT_RE.fullmatch(artifact) else None


@functools.lru_cache(maxsize=16384)
def suffix_part(suffix: str) -> tuple[Action, Version | None, str | None, int | None] | None:
    """(action, version, stage, counter) from what follows the artifact, None if invalid."""
    match = _SUFFIX_RE.fullmatch(suffix)
    if match is None:
        return None
    stage, version, cancel, deprecated, counter = match.groups()
    number = int(counter) if counter is not None else None
    if deprecated:
        return Action.DEPRECATE, None, None, number
    if version is not None:
        return Action.DEREGISTER if cancel else Action.REGISTER, Version(version), None, number
    return Action.UNASSIGN if cancel else Action.ASSIGN, None, stage, number


def format_tag(name: TagName) -> str:
    """Spell a TagName as a tag; the exact inverse of parse_tag."""
    base = model_to_tag(name.model)
    if name.action is Action.DEPRECATE:
        text = f"{base}@deprecated"
    elif name.action in (Action.REGISTER, Action.DEREGISTER):
        cancel = "!" if name.action is Action.DEREGISTER else ""
        text = f"{base}@v{name.version}{cancel}"
    else:
        cancel = "!" if name.action is Action.UNASSIGN else ""
        text = f"{base}#{name.stage}{cancel}"
    if name.counter is not None:
        text += f"#{name.counter}"
    return text


def version_tag(model: str, version: str) -> str:
    """The tag that registers `version` of `model`."""
    return format_tag(TagName(model, Action.REGISTER, version=Version(version)))


def is_model_name(name: str) -> bool:
    """True when `name` is a model name the tag grammar can carry (GTO's rules)."""
    return bool(_MODEL_RE.match(name))


def is_dns_label(text: str) -> bool:
    """True for a Kubernetes DNS-1123 label: lowercase letters, digits, '-', at most 63."""
    return bool(_DNS1123_RE.match(text))


def check_new_model_name(name: str) -> None:
    """Refuse a name modelgit would create a tag for unless its last part is a DNS-1123 label."""
    if not is_model_name(name):
        raise InvalidNameError(
            f"{name!r} is not a valid model name; use lowercase letters, digits and '-'"
        )
    short = name.rsplit(":", 1)[-1]
    if not is_dns_label(short):
        raise InvalidNameError(
            f"model name {short!r} is not a Kubernetes DNS-1123 label; use lowercase letters, "
            "digits and '-' (at most 63 characters), e.g. "
            f"{re.sub(r'[^a-z0-9-]+', '-', short.lower()).strip('-')[:63]!r}"
        )


def check_version(text: str) -> Version:
    """The Version `text` names (`1.2.3` or `v1.2.3`), or refuse it."""
    return Version.parse(text)


def split_reference(ref: str) -> tuple[str, str | None, str | None]:
    """Split `model`, `model@v1.2.3` or `model#stage` into (model, version, stage).

    A registration tag as GTO may spell it, with a counter (`model@v1.2.3#4`), names its version.

    >>> split_reference("m@v2.0.3#4"), split_reference("m#prod")
    (('m', Version('2.0.3'), None), ('m', None, 'prod'))
    """
    if not ref.strip():
        raise InvalidNameError(
            "an empty reference names nothing; give MODEL, MODEL@vX.Y.Z or MODEL#STAGE"
        )
    parsed = parse_tag(ref)
    if parsed is not None and parsed.action is Action.REGISTER:
        return parsed.model, parsed.version, None
    if "@" in ref:
        model, _, version = ref.rpartition("@")
        if version in ("latest", ""):
            return model, None, None
        return model, check_version(version), None
    if "#" in ref:
        model, _, stage = ref.partition("#")
        return model, None, stage
    return ref, None, None
