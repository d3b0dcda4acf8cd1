"""Offline validation of rendered manifests: core kinds against the Kubernetes schemas that
`kubernetes-validate` ships (strict: unknown fields fail), custom resources against JSON
schemas named `<group>_<kind>_<version>.json` (kind lowercased), by default the ones packaged in
`schemas/` beside this module. A kind with no schema is reported as not validated, never as
valid."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from modelgit.errors import ManifestError

KUBERNETES_VERSION = "1.30"
PACKAGED_SCHEMAS = Path(__file__).parent / "schemas"
_NEEDS_EXTRA = "validation needs the k8s extra: pip install 'modelgit[k8s]'"


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
        raise ManifestError(_NEEDS_EXTRA) from exc
    try:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        return None, []
    except kubernetes_validate.ValidationError as exc:
        return f"kubernetes {KUBERNETES_VERSION} (strict)", [str(exc.message)]
    return f"kubernetes {KUBERNETES_VERSION} (strict)", []


def _schema_file(document: dict[str, Any], schemas: Path) -> Path:
    """Where the schema of a custom resource would be: `<group>_<kind>_<version>.json`."""
    group, _, version = str(document.get("apiVersion", "")).rpartition("/")
    return schemas / f"{group}_{str(document.get('kind', '')).lower()}_{version}.json"


def _validator(path: Path, check: bool) -> Any:
    """A validator for the schema at `path` (its `$schema`, draft 7 when it names none);
    `check` verifies the schema itself first, for files that do not ship with modelgit."""
    try:
        import jsonschema
    except ImportError as exc:
        raise ManifestError(_NEEDS_EXTRA) from exc
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ManifestError(f"CRD schema {path} cannot be read as JSON: {exc}") from exc
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    if check:
        try:
            cls.check_schema(schema)
        except jsonschema.SchemaError as exc:
            message = f"CRD schema {path} is not a valid JSON schema: {exc.message}"
            raise ManifestError(message) from exc
    return cls(schema)


def _custom(
    document: dict[str, Any], schemas: Path, loaded: dict[Path, Any]
) -> tuple[str | None, list[str]]:
    path = _schema_file(document, schemas)
    if not path.is_file():
        return None, []
    if path not in loaded:
        loaded[path] = _validator(path, check=schemas != PACKAGED_SCHEMAS)
    errors = [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in loaded[path].iter_errors(document)
    ]
    return path.name, errors


def validate(files: dict[str, str], crd_schemas: Path | None = None) -> list[Checked]:
    """Validate every YAML document of every file.

    Custom resources are looked up in `crd_schemas` when it is given, else in the packaged
    `PACKAGED_SCHEMAS`. A given directory replaces the packaged one entirely, with no fallback:
    a kind without a file there is reported as not validated (schema None), so the reported
    schema name always means the file of that name in the directory in use. To extend the
    packaged set, copy it into the directory first. A given directory that does not exist, or
    holds a file that is not a JSON schema, is a `ManifestError`.
    """
    schemas = PACKAGED_SCHEMAS if crd_schemas is None else Path(crd_schemas)
    if not schemas.is_dir():
        raise ManifestError(
            f"CRD schema directory {schemas} is not a directory; "
            "give a folder of <group>_<kind>_<version>.json files"
        )
    loaded: dict[Path, Any] = {}
    results = []
    for name, text in files.items():
        for document in yaml.safe_load_all(text):
            if not document:
                continue
            kind = str(document.get("kind", "?"))
            meta_name = str((document.get("metadata") or {}).get("name", "?"))
            group = str(document.get("apiVersion", "")).rpartition("/")[0]
            is_core = "." not in group or group.endswith(".k8s.io")  # apps, networking.k8s.io
            schema, errors = _core(document) if is_core else _custom(document, schemas, loaded)
            results.append(Checked(name, kind, meta_name, schema, tuple(errors)))
    return results
