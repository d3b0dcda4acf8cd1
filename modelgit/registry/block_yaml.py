"""A fast reader for the block YAML that modelgit's metadata writer emits, and nothing else.

PyYAML composes every scalar into a node object and constructs it in Python even behind
libyaml; reading 12,500 version documents that way costs seconds. This reader takes the one
shape `dump_yaml` writes (block mappings and sequences, one scalar per line, plain or
single-line quoted scalars, `[]` and `{}`) and returns exactly what `yaml.safe_load` returns for
it: every plain scalar is resolved and constructed by PyYAML's own resolver and constructors.
Anything else (comments, flow collections, multi-line or escaped scalars, tabs, anchors,
duplicate keys, directives) makes it decline with None, and the caller parses with PyYAML.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

# Characters that change how YAML splits lines or that PyYAML refuses: decline on any of them
# (tabs, CR, NEL, the Unicode line and paragraph separators, BOM, control characters).
_UNSUPPORTED_CHARACTER = re.compile(
    "[^\\x0a\\x20-\\x7e\\xa0-\\u2027\\u202a-\\ud7ff\\ue000-\\ufefe\\uff00-\\ufffd"
    "\\U00010000-\\U0010ffff]"
)
_PLAIN_KEY = r"[A-Za-z0-9_](?:[A-Za-z0-9_./ -]*[A-Za-z0-9_./-])?"
_QUOTED_KEY = r"'(?:[^']|'')*'"
_ENTRY = re.compile(rf"({_PLAIN_KEY}|{_QUOTED_KEY}):(?: (.*))?")
_SINGLE_QUOTED = re.compile(r"'((?:[^']|'')*)'")
_DOUBLE_QUOTED = re.compile(r'"([^"\\]*)"')
# A plain scalar must not start with an indicator (a leading `-` only before a non-space, as in
# `-0.5`) and must not hold a comment, a mapping indicator or surrounding spaces.
_PLAIN = re.compile(r"(?:[^\s\-?:,\[\]{}#&*!|>'\"%@`]|-[^\s#])[^#]*")
# Deeper documents are declined, so what this reader returns never nests past 31 levels.
MAX_NESTING = 30

_RESOLVERS = yaml.resolver.Resolver.yaml_implicit_resolvers
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_STR = "tag:yaml.org,2002:str"
_CONSTRUCTED_TAGS = frozenset(
    "tag:yaml.org,2002:" + kind for kind in ("null", "bool", "int", "float", "timestamp")
)


class _Decline(Exception):
    """The text is outside the subset this reader takes."""


def _resolved(text: str) -> Any:
    """A plain scalar as PyYAML's safe loader constructs it."""
    candidates = _RESOLVERS.get(text[0] if text else "")
    if not candidates:
        return text
    tag = _STR
    for candidate_tag, pattern in candidates:
        if pattern.match(text):
            tag = candidate_tag
            break
    if tag == _STR:
        return text
    if tag not in _CONSTRUCTED_TAGS:
        raise _Decline
    node = yaml.ScalarNode(tag, text)
    return _CONSTRUCTOR.yaml_constructors[tag](_CONSTRUCTOR, node)


def _scalar(text: str) -> Any:
    if text == "[]":
        return []
    if text == "{}":
        return {}
    if not text:
        raise _Decline
    first = text[0]
    if first == "'":
        quoted = _SINGLE_QUOTED.fullmatch(text)
        if quoted is None:
            raise _Decline
        return quoted.group(1).replace("''", "'")
    if first == '"':
        quoted = _DOUBLE_QUOTED.fullmatch(text)
        if quoted is None:
            raise _Decline
        return quoted.group(1)
    if (
        _PLAIN.fullmatch(text) is None
        or ": " in text
        or text.endswith((":", " "))
        or text.startswith("- ")
    ):
        raise _Decline
    return _resolved(text)


def _key(text: str) -> Any:
    if text[0] == "'":
        return text[1:-1].replace("''", "'")
    return _resolved(text)


_NESTED = object()  # `key:` with nothing after it
_EMPTY_LIST = object()
_EMPTY_MAPPING = object()
# Metadata documents repeat most of their lines (`hash: md5`, `level: minor`, a metric's name):
# each distinct line is read once per process. Values kept are immutable; `[]` and `{}` are
# kept as markers and made afresh for every document.
_ENTRIES: dict[str, tuple[Any, Any]] = {}
_ENTRIES_LIMIT = 200_000


def _entry(text: str) -> tuple[Any, Any]:
    """A mapping line's key and value (or _NESTED), read once per distinct line."""
    found = _ENTRIES.get(text)
    if found is None:
        entry = _ENTRY.fullmatch(text)
        if entry is None:
            raise _Decline
        rest = entry.group(2)
        if not rest:
            value = _NESTED
        elif rest == "[]":
            value = _EMPTY_LIST
        elif rest == "{}":
            value = _EMPTY_MAPPING
        else:
            value = _scalar(rest)
        found = (_key(entry.group(1)), value)
        if len(_ENTRIES) >= _ENTRIES_LIMIT:
            _ENTRIES.clear()
        _ENTRIES[text] = found
    return found


class _Reader:
    def __init__(self, lines: list[tuple[int, str]]) -> None:
        self.lines = lines
        self.at = 0

    def block(self, indent: int, depth: int) -> Any:
        """The mapping or sequence starting at the current line, `indent` spaces in."""
        if depth > MAX_NESTING:
            raise _Decline
        text = self.lines[self.at][1]
        if text.startswith("- ") or text == "-":
            return self.sequence(indent, depth)
        return self.mapping(indent, depth)

    def mapping(self, indent: int, depth: int) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        lines = self.lines
        while self.at < len(lines):
            line_indent, text = lines[self.at]
            if line_indent < indent:
                break
            if line_indent != indent:
                raise _Decline
            key, value = _entry(text)
            if key in result:
                raise _Decline
            self.at += 1
            if value is _NESTED:
                value = self._nested(indent, depth)
            elif value is _EMPTY_LIST:
                value = []
            elif value is _EMPTY_MAPPING:
                value = {}
            result[key] = value
        return result

    def _nested(self, indent: int, depth: int) -> Any:
        """What follows `key:` with nothing after it: a deeper block, a sequence at the
        key's own indentation, or null."""
        if self.at >= len(self.lines):
            return None
        line_indent, text = self.lines[self.at]
        starts_sequence = text.startswith("- ") or text == "-"
        if line_indent > indent or (line_indent == indent and starts_sequence):
            return self.block(line_indent, depth + 1)
        return None

    def sequence(self, indent: int, depth: int) -> list[Any]:
        result: list[Any] = []
        lines = self.lines
        while self.at < len(lines):
            line_indent, text = lines[self.at]
            if line_indent < indent:
                break
            if line_indent > indent:
                raise _Decline
            if not text.startswith("- "):
                if text == "-":
                    raise _Decline  # an item on the following lines: rare, left to PyYAML
                break
            item = text[2:]
            if item.startswith("- ") or _ENTRY.fullmatch(item):
                # An inline block (`- key: value` or `- - item`): read it as a block that
                # starts two columns further in.
                lines[self.at] = (indent + 2, item)
                result.append(self.block(indent + 2, depth + 1))
            else:
                self.at += 1
                result.append(_scalar(item))
        return result


def load(text: str) -> dict[Any, Any] | None:
    """The mapping `yaml.safe_load(text)` returns, or None when `text` is outside the subset."""
    if _UNSUPPORTED_CHARACTER.search(text):
        return None
    raw = text.rstrip("\n").split("\n")
    lines = []
    for line in raw:
        stripped = line.lstrip(" ")
        if not stripped:
            return None
        lines.append((len(line) - len(stripped), stripped))
    if not lines or lines[0][0] != 0:
        return None
    reader = _Reader(lines)
    try:
        document = reader.mapping(0, 0)
    except (_Decline, yaml.YAMLError, ValueError, RecursionError):
        return None
    return document if reader.at == len(lines) else None
