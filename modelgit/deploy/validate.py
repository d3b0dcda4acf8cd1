"""Offline validation of rendered manifests: core kinds against the Kubernetes schemas that
`kubernetes-validate` ships (strict: unknown fields fail), custom resources against JSON
schemas in a directory (`<group>_<kind>_<version>.json`). A kind with no schema is reported as
not validated, never as valid."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from modelgit.errors import ManifestError

KUBERNETES_VERSION = "1.30"


@dataclass(frozen=True)
class Checked:
    """One document's validation."""

    file: str
    kind: str
    name: str
    schema: str | None  # what it was validated against; None when no schema was found
    errors: tuple[str, ...] = ()


def _core(document: dict[str, Any]) -> tuple[str | None, list[str]]:
    try:
        import kubernetes_validate
    except ImportError as exc:
        raise ManifestError("validation needs the k8s extra: pip install 'modelgit[k8s]'") from exc
    try:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        return None, []
    except kubernetes_validate.ValidationError as exc:
        return f"kubernetes {KUBERNETES_VERSION} (strict)", [str(exc.message)]
    return f"kubernetes {KUBERNETES_VERSION} (strict)", []


def _custom(document: dict[str, Any], schemas: Path | None) -> tuple[str | None, list[str]]:
    if schemas is None:
        return None, []
    group, _, version = str(document.get("apiVersion", "")).rpartition("/")
    path = schemas / f"{group}_{str(document.get('kind', '')).lower()}_{version}.json"
    if not path.is_file():
        return None, []
    import json

    import jsonschema

    validator = jsonschema.Draft7Validator(json.loads(path.read_text()))
    errors = [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in validator.iter_errors(document)
    ]
    return path.name, errors


def validate(files: dict[str, str], crd_schemas: Path | None = None) -> list[Checked]:
    """Validate every YAML document of every file."""
    results = []
    for name, text in files.items():
        for document in yaml.safe_load_all(text):
            if not document:
                continue
            kind = str(document.get("kind", "?"))
            meta_name = str((document.get("metadata") or {}).get("name", "?"))
            is_core = "." not in str(document.get("apiVersion", "")).split("/")[0] or str(
                document.get("apiVersion", "")
            ).startswith("apps/")
            schema, errors = _core(document) if is_core else _custom(document, crd_schemas)
            results.append(Checked(name, kind, meta_name, schema, tuple(errors)))
    return results
