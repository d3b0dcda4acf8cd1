"""`config`: the effective settings of a project and where each value comes from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelgit.registry.lookup import root_of
from modelgit.sources import config as settings_file

BUILT_IN = "built-in"

# Settings other commands read with a fallback of their own: the fallback, and who uses it.
DEPLOY_DEFAULTS: dict[str, Any] = {
    "strategy": None,  # manifest asks for --strategy; `ci release` renders bluegreen
    "image": "<model>:latest",
    "namespace": "default",
    "replicas": 1,
    "port": 8080,
}


@dataclass(frozen=True)
class Setting:
    """One effective setting: its dotted key, its value, and `.modelgit.yaml` or `built-in`."""

    key: str
    value: Any
    source: str


def config(repo: Path | str = ".") -> list[Setting]:
    """Every setting modelgit reads, with the value in effect and where it came from."""
    root = root_of(repo)
    loaded = settings_file.load(root)
    raw = _raw(root / settings_file.FILE)
    found = f"{settings_file.FILE}"

    def source(present: bool) -> str:
        return found if present else BUILT_IN

    result = [
        Setting("stages", list(loaded.stages), source(bool(raw.get("stages")))),
        Setting(
            "promotion_order",
            list(loaded.promotion_order),
            source(bool(raw.get("promotion_order"))),
        ),
    ]
    found_deploy = raw.get("deploy")
    declared: dict[str, Any] = found_deploy if isinstance(found_deploy, dict) else {}
    for key, default in DEPLOY_DEFAULTS.items():
        present = key in loaded.deploy and loaded.deploy[key] is not None
        value = loaded.deploy[key] if present else default
        result.append(Setting(f"deploy.{key}", value, source(present and key in declared)))
    known = {"stages", "promotion_order", "deploy"}
    for key, value in raw.items():
        if key not in known:
            result.append(Setting(str(key), value, found))
    for key, value in declared.items():
        if key not in DEPLOY_DEFAULTS:
            result.append(Setting(f"deploy.{key}", value, found))
    return result


def _raw(path: Path) -> dict[str, Any]:
    """The file's own mapping (load() has checked it), or nothing when there is no file."""
    if not path.is_file():
        return {}
    import yaml

    document = yaml.safe_load(path.read_text()) or {}
    return document if isinstance(document, dict) else {}
