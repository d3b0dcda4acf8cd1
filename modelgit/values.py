"""Small value helpers every layer shares: the number check, text enums, name normalising."""

from __future__ import annotations

import enum
from typing import Any, TypeGuard


def is_number(value: Any) -> TypeGuard[int | float]:
    """True for an int or float that is not a bool (YAML and JSON give both).

    >>> [is_number(v) for v in (1, 0.5, True, "1", None)]
    [True, True, False, False, False]
    """
    return isinstance(value, (int, float)) and not isinstance(value, bool)


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
