"""How pages write values: numbers without float noise, sizes in human units, dates."""

from __future__ import annotations

from typing import Any

from modelgit.values import is_number


def number(value: Any) -> str:
    """A metric or param as a person reads it: 12 significant digits at most, no float noise.

    >>> number(0.1 + 0.2), number(3), number(None), number("a")
    ('0.3', '3', '-', 'a')
    """
    if value is None:
        return "-"
    if is_number(value):
        return str(value) if isinstance(value, int) else f"{value:.12g}"
    return str(value)


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
