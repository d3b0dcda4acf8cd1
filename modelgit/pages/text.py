"""How pages write values: lists and mappings as text, counts, sizes in human units."""

from __future__ import annotations

import functools
import html
from typing import Any

from modelgit.values import format_value, is_number

# A site escapes the same names, versions and numbers thousands of times.
escape = functools.lru_cache(maxsize=1 << 16)(html.escape)
_cached_format = functools.lru_cache(maxsize=1 << 16, typed=True)(format_value)


def shown(value: Any) -> str:
    """`format_value`, remembered for hashable values (typed: 1, 1.0 and True differ).

    >>> shown(0.945), shown(True), shown(1), shown(None), shown([1])
    ('0.945', 'True', '1', '-', '[1]')
    """
    try:
        return _cached_format(value)
    except TypeError:  # a list or mapping
        return format_value(value)


def plain(value: Any) -> str:
    """A declared or recorded value as a person reads it: numbers by the shared formatter, a
    list as a comma list, a mapping as `key: value` pairs (never a Python repr).

    >>> plain(1.0), plain(["tabular", "churn"]), plain({"owner": "ml", "tier": 1}), plain(None)
    ('1.0', 'tabular, churn', 'owner: ml, tier: 1', '-')
    """
    if isinstance(value, dict):
        return ", ".join(f"{key}: {plain(item)}" for key, item in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(plain(item) for item in value)
    return format_value(value)


def counted(count: int, noun: str) -> str:
    """`1 model`, `2 models`.

    >>> counted(1, "model"), counted(2, "version")
    ('1 model', '2 versions')
    """
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def size(count: Any) -> str:
    """Bytes in human units.

    >>> size(1536), size(10), size(None)
    ('1.5 KiB', '10 B', '-')
    """
    if not is_number(count):
        return "-"
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} B"
