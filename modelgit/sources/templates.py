"""DVC's `foreach` templating in its simple form, resolved without importing DVC.

A `foreach` over a literal list or mapping whose `do` template uses only `${item}`, `${key}`
(over a mapping) and `${item.name}` is what most templated pipelines write. Resolving it here
gives what DVC's resolver (`dvc.parsing.DataResolver`) gives, without importing DVC and its
template machinery (about a quarter of a second, more for a thousand items). Anything else —
`vars`, `matrix`, params interpolation such as `${train.lr}`, a `foreach` read from params,
escaped `\\${`, a value that is not a plain scalar, a name DVC would refuse — is not simple:
`resolve_simple` returns None and DVC's own resolver decides, errors included.

One difference is deliberate: DVC also loads `params.yaml` into its template context and
fails when that file does not parse; no simple template reads it, so this does not.
"""

from __future__ import annotations

import copy
import re
from typing import Any

# DVC's own pattern for an interpolation (`dvc.parsing.interpolate.KEYCRE`): `${...}`, not
# preceded by a backslash, shortest match.
_INTERPOLATION = re.compile(r"(?<!\\)\${(?P<inner>.*?)}")
_SIMPLE_EXPRESSION = re.compile(r"(?P<name>item|key)(?:\.(?P<field>[A-Za-z0-9_-]+))?")
_SCALARS = (str, int, float, bool)  # bool is an int, listed for the reader


class _NotSimple(Exception):
    """The document needs DVC's resolver."""


def resolve_simple(document: dict[str, Any]) -> dict[str, Any] | None:
    """The resolved `stages:` of a dvc.yaml, as DVC resolves them, or None when the
    templating goes beyond the simple `foreach` (then DVC's resolver must do it)."""
    stages = document.get("stages") or {}
    if "vars" in document or not isinstance(stages, dict):
        return None
    resolved: dict[str, Any] = {}
    try:
        for name, definition in stages.items():
            if not isinstance(name, str) or "@" in name or not isinstance(definition, dict):
                raise _NotSimple
            if "foreach" in definition:
                resolved.update(_expand(name, definition))
                continue
            if _mentions_template(definition):  # params interpolation, matrix, escapes
                raise _NotSimple
            resolved[name] = copy.deepcopy(definition)
    except _NotSimple:
        return None
    return resolved


def _expand(name: str, definition: dict[str, Any]) -> dict[str, Any]:
    """One `foreach` group's stages, `name@key` each, in DVC's order and with DVC's names."""
    if set(definition) != {"foreach", "do"}:
        raise _NotSimple
    data, template = definition["foreach"], definition["do"]
    if _mentions_template(data) or not isinstance(template, dict) or "vars" in template:
        raise _NotSimple
    with_key = isinstance(data, dict)
    if with_key:
        members = {_to_str(key): value for key, value in data.items()}
    elif isinstance(data, list):
        if not all(isinstance(v, (*_SCALARS, dict, list)) for v in data):
            raise _NotSimple
        if any(isinstance(v, (dict, list)) for v in data):  # composite items: named by index
            members = {str(index): value for index, value in enumerate(data)}
        else:  # plain items name their own stages
            members = {_to_str(value): value for value in data}
    else:
        raise _NotSimple
    if any("@" in key for key in members):
        raise _NotSimple  # DVC would split the generated name at the wrong `@`
    return {
        f"{name}@{key}": _substitute(template, item, key if with_key else None)
        for key, item in members.items()
    }


def _substitute(value: Any, item: Any, key: str | None) -> Any:
    """`value` with every interpolation replaced, keys of mappings included (as DVC does)."""
    if isinstance(value, dict):
        return {_substitute(k, item, key): _substitute(v, item, key) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return type(value)(_substitute(v, item, key) for v in value)
    if isinstance(value, str):
        return _interpolate(value, item, key)
    return copy.deepcopy(value)


def _interpolate(text: str, item: Any, key: str | None) -> Any:
    """A string with `${item}`/`${key}`/`${item.name}` replaced: the value itself when the
    string is exactly one interpolation (so `${item}` of 3 stays 3), else its text."""
    matches = list(_INTERPOLATION.finditer(text))
    if len(matches) == 1 and matches[0].group(0) == text:
        return _value(matches[0]["inner"], item, key)
    parts, index = [], 0
    for match in matches:
        parts += [text[index : match.start()], _to_str(_value(match["inner"], item, key))]
        index = match.end()
    parts.append(text[index:])
    return "".join(parts).replace("\\${", "${")


def _value(expression: str, item: Any, key: str | None) -> Any:
    """What one simple expression selects; anything else is not simple."""
    match = _SIMPLE_EXPRESSION.fullmatch(expression)
    if match is None:
        raise _NotSimple
    if match["name"] == "key":
        if key is None or match["field"]:  # over a list DVC looks `key` up in params
            raise _NotSimple
        return key
    value = item
    if match["field"]:
        if not isinstance(item, dict) or match["field"] not in item:
            raise _NotSimple  # let DVC word the error
        value = item[match["field"]]
    if not isinstance(value, _SCALARS):
        raise _NotSimple
    return value


def _to_str(value: Any) -> str:
    """DVC's text of a scalar (`dvc.parsing.interpolate.to_str`): booleans as true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, _SCALARS):
        raise _NotSimple
    return str(value)


def _mentions_template(value: Any) -> bool:
    """True when `${` appears in any string of `value`, keys included."""
    if isinstance(value, dict):
        return any(_mentions_template(k) or _mentions_template(v) for k, v in value.items())
    if isinstance(value, (list, tuple, set)):
        return any(_mentions_template(v) for v in value)
    return isinstance(value, str) and "${" in value
