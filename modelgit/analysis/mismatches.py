"""A recorded metadata field against the value its commit derives: each difference as one line.

Pure: mappings are compared key by key, lists of mappings that carry a `path` or `name` item by
item, anything else as a whole. A missing value and `null` both mean "nothing".

>>> [str(m) for m in differences("metrics", {"accuracy": 0.999, "f1": 0.9}, {"accuracy": 0.93,
...                                          "f1": 0.9})]
['metrics.accuracy: recorded 0.999, derived 0.93']
>>> [str(m) for m in differences("data", [{"path": "a.csv", "size": 1}], [{"path": "a.csv",
...                                       "size": 7}])]
['data[a.csv].size: recorded 1, derived 7']
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from modelgit.registry.metadata import to_jsonable

_ITEM_KEYS = ("path", "name")


@dataclass(frozen=True)
class Mismatch:
    """One value the tag records that its commit does not give."""

    field: str  # e.g. `metrics.accuracy`, `data[data/train.csv].size`
    recorded: Any  # None when the tag records nothing there
    derived: Any  # None when the commit gives nothing there

    def __str__(self) -> str:
        return f"{self.field}: recorded {shown(self.recorded)}, derived {shown(self.derived)}"


def shown(value: Any) -> str:
    """A value on one line, as JSON writes it; nothing is `(absent)`.

    >>> shown(None), shown("adam"), shown([1, 2.5])
    ('(absent)', '"adam"', '[1, 2.5]')
    """
    if value is None:
        return "(absent)"
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def differences(field: str, recorded: Any, derived: Any) -> list[Mismatch]:
    """Every place where `recorded` and `derived` differ, named from `field` down."""
    return list(_walk(field, to_jsonable(recorded), to_jsonable(derived)))


def _walk(field: str, recorded: Any, derived: Any) -> Iterator[Mismatch]:
    if isinstance(recorded, dict) and isinstance(derived, dict):
        for key in sorted(set(recorded) | set(derived), key=str):
            yield from _walk(f"{field}.{key}", recorded.get(key), derived.get(key))
        return
    key = _item_key(recorded, derived)
    if key is not None:
        old = {str(item[key]): item for item in recorded}
        new = {str(item[key]): item for item in derived}
        for name in [*new, *(n for n in old if n not in new)]:
            yield from _walk(f"{field}[{name}]", old.get(name), new.get(name))
        return
    if not same(recorded, derived):
        yield Mismatch(field, recorded, derived)


def _item_key(recorded: Any, derived: Any) -> str | None:
    """`path` or `name` when both sides are lists of mappings each naming itself uniquely by it."""
    if not (isinstance(recorded, list) and isinstance(derived, list)):
        return None
    for key in _ITEM_KEYS:
        if all(
            all(isinstance(item, dict) and key in item for item in side)
            and len({str(item[key]) for item in side}) == len(side)
            for side in (recorded, derived)
        ) and (recorded or derived):
            return key
    return None


def same(recorded: Any, derived: Any) -> bool:
    """Equal as values: NaN equals NaN, 1 equals 1.0, but a bool is not a number.

    >>> same(float("nan"), float("nan")), same(1, 1.0), same(True, 1), same([{"a": 2}], [{"a": 2}])
    (True, True, False, True)
    """
    if isinstance(recorded, bool) or isinstance(derived, bool):
        return type(recorded) is type(derived) and recorded == derived
    if isinstance(recorded, float) and isinstance(derived, float):
        return recorded == derived or (math.isnan(recorded) and math.isnan(derived))
    if isinstance(recorded, list) and isinstance(derived, list):
        return len(recorded) == len(derived) and all(map(same, recorded, derived))
    if isinstance(recorded, dict) and isinstance(derived, dict):
        return recorded.keys() == derived.keys() and all(
            same(value, derived[key]) for key, value in recorded.items()
        )
    return bool(recorded == derived)
