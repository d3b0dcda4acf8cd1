"""Small value helpers every layer shares: the number check, lists from single items, text enums."""

from __future__ import annotations

import enum
import os
from collections.abc import Callable, Iterable
from typing import Any, TypeGuard


def is_number(value: Any) -> TypeGuard[int | float]:
    """True for an int or float that is not a bool (YAML and JSON give both).

    >>> [is_number(v) for v in (1, 0.5, True, "1", None)]
    [True, True, False, False, False]
    """
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def as_list(items: Any) -> list[Any]:
    """A list from a list, or from one item given alone (a string is one item, not characters).

    >>> as_list("accuracy<0.9"), as_list(["a", "b"]), as_list(None)
    (['accuracy<0.9'], ['a', 'b'], [])
    """
    if items is None:
        return []
    if isinstance(items, (str, bytes, os.PathLike)):
        return [items]
    return list(items)


class TextEnum(str, enum.Enum):
    """An enum whose members are their text: JSON, f-strings and `==` see the plain value.

    >>> class Colour(TextEnum):
    ...     BLUE = "blue"
    >>> f"{Colour.BLUE}", Colour.BLUE == "blue", Colour("blue") is Colour.BLUE
    ('blue', True, True)
    """

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


# How long work reports what it has done: (what, units done, units in total). Core functions
# that hash or move bytes take an optional one and call it as they go; the CLI draws a bar.
Progress = Callable[[str, int, int], None]


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """` (did you mean production?)` for a near miss among `choices`, else nothing.

    >>> did_you_mean("prod", ["staging", "production"]), did_you_mean("zzz", ["staging"])
    (' (did you mean production?)', '')
    """
    import difflib

    options = list(choices)
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    if not close:
        close = [option for option in options if option.startswith(name)][:1] if name else []
    return f" (did you mean {close[0]}?)" if close else ""
