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


# Plain decimal numbers, for which PyYAML's int and float constructors come down to int() and
# float() (no sign words, underscores, bases, sexagesimals or infinities).
_DECIMAL_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_DECIMAL_FLOAT = re.compile(r"[-+]?[0-9]+\.[0-9]*(?:[eE][-+][0-9]+)?")


def _resolved(text: str) -> Any:
    """A plain scalar as PyYAML's safe loader constructs it."""
    if _DECIMAL_FLOAT.fullmatch(text):
        return float(text)
    if _DECIMAL_INT.fullmatch(text):
        return int(text)
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


_EMPTY_LIST = object()
_EMPTY_MAPPING = object()
_ENTRY_LINE, _OPEN_LINE, _ITEM_LINE, _ITEM_ENTRY_LINE, _ITEM_OPEN_LINE = range(5)
# Metadata documents repeat most of their lines (`    hash: md5`, `  level: minor`, a metric's
# name): each distinct line is read once per process. Values kept are immutable; `[]` and `{}`
# are kept as markers and made afresh for every document.
_LINES: dict[str, tuple[int, int, Any, Any, int]] = {}
_LINES_LIMIT = 200_000


def _value(rest: str) -> Any:
    if rest == "[]":
        return _EMPTY_LIST
    if rest == "{}":
        return _EMPTY_MAPPING
    return _scalar(rest)


def _line(line: str) -> tuple[int, int, Any, Any, int]:
    """A line as (indent, shape, key, value, sequence depth), read once per distinct line;
    the depth counts the `- ` that open it (`- - x` is an item of a sequence in a sequence)."""
    text = line.lstrip(" ")
    if not text:
        raise _Decline
    indent = len(line) - len(text)
    depth = 0
    while text.startswith("- "):
        text = text[2:]
        depth += 1
    entry = _ENTRY.fullmatch(text)
    if entry is None:
        if not depth:
            raise _Decline  # a scalar where a mapping line belongs
        return indent, _ITEM_LINE, None, _value(text), depth
    key = _key(entry.group(1))
    rest = entry.group(2)
    if not rest:
        return indent, _ITEM_OPEN_LINE if depth else _OPEN_LINE, key, None, depth
    return indent, _ITEM_ENTRY_LINE if depth else _ENTRY_LINE, key, _value(rest), depth


def _fresh(value: Any) -> Any:
    if value is _EMPTY_LIST:
        return []
    if value is _EMPTY_MAPPING:
        return {}
    return value


def _read(lines: list[str]) -> dict[Any, Any]:
    """The document the lines hold, built with a stack of open blocks (indent, container)."""
    root: dict[Any, Any] = {}
    stack: list[tuple[int, Any]] = [(0, root)]
    # `key:` with nothing after it waits for the next line to say what its value is.
    waiting: tuple[dict[Any, Any], Any, int] | None = None
    top_indent, top, top_is_mapping = 0, root, True  # the block open now (the stack's last)
    cache = _LINES
    for line in lines:
        parsed = cache.get(line)
        if parsed is None:
            parsed = _line(line)
            if len(cache) >= _LINES_LIMIT:
                cache.clear()
            cache[line] = parsed
        indent, shape, key, value, depth = parsed
        if shape == _ENTRY_LINE and waiting is None and indent == top_indent and top_is_mapping:
            # Most lines: `key: value` in the mapping that is open.
            if key in top or value is _EMPTY_LIST or value is _EMPTY_MAPPING:
                if key in top:
                    raise _Decline
                value = _fresh(value)
            top[key] = value
            continue
        is_item = shape >= _ITEM_LINE
        if waiting is not None:
            parent, waiting_key, waiting_indent = waiting
            waiting = None
            if indent > waiting_indent or (is_item and indent == waiting_indent):
                block: Any = [] if is_item else {}
                parent[waiting_key] = block
                stack.append((indent, block))
                if len(stack) > MAX_NESTING:
                    raise _Decline
        # Close the blocks this line is outside of; a sequence at its mapping's own indent
        # (PyYAML's style) closes at the mapping's next key.
        while stack[-1][0] > indent or (
            stack[-1][0] == indent and not is_item and type(stack[-1][1]) is list
        ):
            stack.pop()
            if not stack:
                raise _Decline
        open_indent, container = stack[-1]
        if open_indent != indent:
            raise _Decline
        if is_item:
            if type(container) is not list:
                raise _Decline
            for _ in range(depth - 1):  # `- - x`: a sequence opens inside this item
                inner: list[Any] = []
                container.append(inner)
                indent += 2
                stack.append((indent, inner))
                container = inner
            if len(stack) > MAX_NESTING:
                raise _Decline
            if shape == _ITEM_LINE:
                container.append(_fresh(value))
                top_indent, top = stack[-1]
                top_is_mapping = type(top) is dict
                continue
            item: dict[Any, Any] = {}  # `- key: ...`: a mapping opens inside this item
            container.append(item)
            container = item
            stack.append((indent + 2, item))
            if len(stack) > MAX_NESTING:
                raise _Decline
        elif type(container) is not dict:
            raise _Decline
        if key in container:
            raise _Decline
        if shape in (_OPEN_LINE, _ITEM_OPEN_LINE):
            container[key] = None
            waiting = (container, key, indent + 2 if shape == _ITEM_OPEN_LINE else indent)
        else:
            container[key] = _fresh(value)
        top_indent, top = stack[-1]
        top_is_mapping = type(top) is dict
    return root


def load(text: str) -> dict[Any, Any] | None:
    """The mapping `yaml.safe_load(text)` returns, or None when `text` is outside the subset."""
    if _UNSUPPORTED_CHARACTER.search(text):
        return None
    lines = text.rstrip("\n").split("\n")
    if not lines[0] or lines[0][0] == " ":
        return None
    try:
        return _read(lines)
    except (_Decline, yaml.YAMLError, ValueError, RecursionError):
        return None
