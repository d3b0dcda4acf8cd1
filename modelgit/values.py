"""Small value helpers every layer shares: the number check and the one number formatter,
noise-free differences, lists from single items, name suggestions, text enums."""

from __future__ import annotations

import enum
import math
import os
from collections.abc import Callable, Iterable
from typing import Any, TypeGuard

# The name grammar GTO reads for models and stages. registry/tags.py builds the tag grammar from
# it; sources/config.py checks configured stage names with it (it sits below the registry).
GTO_NAME = r"[a-zA-Z0-9](?:[a-zA-Z0-9\-/_]*[a-zA-Z0-9])?"
# A Kubernetes DNS-1123 label: names modelgit creates (models, stages) are used as labels, CI
# job and environment names unchanged. registry/tags.py and sources/config.py both check it.
DNS_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
# The stages a project has until .modelgit.yaml names its own (GTO's usual pair).
DEFAULT_STAGES = ("staging", "production")


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


# Binary floats carry noise in their 16th and 17th significant digits (0.1 * 3 is
# 0.30000000000000004); no metric or param is measured that finely.
SIGNIFICANT_DIGITS = 12


def denoised(value: float) -> float:
    """A float without binary noise: rounded to 12 significant digits (nan and inf as they are).

    >>> denoised(0.1 * 3), denoised(0.945 - 0.931), denoised(1e-05), denoised(123456.5)
    (0.3, 0.014, 1e-05, 123456.5)
    """
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}") if math.isfinite(value) else value


def format_number(value: int | float) -> str:
    """The one number formatter: the shortest text that reads back as the denoised float.

    Bump subjects, changelogs, diffs, history and release summaries print numbers through it,
    and JSON writes `denoised` floats, so every command shows a value the same way.

    >>> [format_number(v) for v in (0.3, 0.1 * 3, 1e-05, 3, 2.0, 0.123456789, float("inf"))]
    ['0.3', '0.3', '1e-05', '3', '2.0', '0.123456789', 'inf']
    """
    return repr(denoised(value)) if isinstance(value, float) else str(int(value))


def format_value(value: Any) -> str:
    """A metric or param value for people: numbers by `format_number`, `-` for none.

    >>> format_value(None), format_value(0.945), format_value(True), format_value("lbfgs")
    ('-', '0.945', 'True', 'lbfgs')
    """
    if value is None:
        return "-"
    return format_number(value) if is_number(value) else str(value)


def difference(old: int | float, new: int | float) -> int | float:
    """`new - old` without float noise: the exact difference of the two numbers as written.

    Plain float subtraction gives 0.945 - 0.931 = 0.013999999999999901; the decimal difference
    of their shortest texts is exactly 0.014, which is what a person (and a diff) means.

    >>> difference(0.931, 0.945), difference(0.1, 0.3), difference(3, 5), 0.945 - 0.931
    (0.014, 0.2, 2, 0.013999999999999901)
    """
    if isinstance(old, int) and isinstance(new, int):
        return new - old
    if not (math.isfinite(old) and math.isfinite(new)):
        return float(new) - float(old)
    from decimal import Decimal  # a few ms: only commands that compare numbers pay it

    return float(Decimal(repr(float(new))) - Decimal(repr(float(old))))


def relative_change(old: int | float, change: int | float) -> float | None:
    """The change as a fraction of the old value's size (None when the old value is 0).

    >>> relative_change(0.8, difference(0.8, 0.78)), relative_change(0, 1)
    (-0.025, None)
    """
    if not old or not math.isfinite(old):
        return None
    if not math.isfinite(change):
        return change / abs(old)
    from decimal import Decimal

    return float(Decimal(repr(float(change))) / abs(Decimal(repr(float(old)))))
