"""The metadata document in a version tag's message: dump, parse (safely), fingerprint."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import yaml

from modelgit.errors import MetadataError, MetadataTooLargeError
from modelgit.registry import block_yaml

SCHEMA = 1
# One limit for the writer (`dump` refuses past it) and the reader (`parse` refuses past it), so
# that bump never writes a tag that show and verify then refuse to read.
MAX_MESSAGE_BYTES = 256 * 1024
MAX_DEPTH = 32
REQUIRED = ("schema", "model", "version")
# Field order of DESIGN 3.3, so that every tag reads the same way.
FIELD_ORDER = (
    "schema", "model", "version", "previous", "bump", "created_at", "created_by", "commit",
    "artifact", "fingerprint", "data", "intermediate", "stages", "params", "metrics", "features",
    "schema_signature", "parents", "environment", "training",
)  # fmt: skip


class _NoAliasLoader(yaml.SafeLoader):
    """A safe loader that refuses anchors and aliases, so an alias bomb cannot expand."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise MetadataError("metadata YAML uses aliases, which modelgit never writes")
        return super().compose_node(parent, index)


class _Dumper(yaml.SafeDumper):
    """The safe dumper; str subclasses (Version, text enums) are written as plain strings."""


_Dumper.add_multi_representer(str, lambda dumper, value: dumper.represent_str(str(value)))


def dump_yaml(document: dict[str, Any]) -> str:
    """A YAML document in the order given, safe types only."""
    return yaml.dump(
        document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False
    )


def utc_now() -> str:
    """The current time as metadata records it: UTC, seconds, `Z`."""
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def fingerprint(artifact_md5: str, params: dict[str, Any], data: list[dict[str, Any]]) -> str:
    """12 hex of sha256 over the artifact md5, canonical params and data md5s (the `model-hash`)."""
    canonical = json.dumps(
        {
            "artifact": artifact_md5,
            "params": params,
            "data": sorted((d["path"], d.get("md5")) for d in data),
        },
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def dump(subject: str, document: dict[str, Any]) -> str:
    """The full tag message: a one-line subject, a blank line, one YAML document."""
    ordered = {key: document[key] for key in FIELD_ORDER if key in document}
    ordered.update({k: v for k, v in document.items() if k not in ordered})
    message = f"{subject.splitlines()[0] if subject else ''}\n\n{dump_yaml(ordered)}"
    size = len(message.encode("utf-8", "replace"))
    if size > MAX_MESSAGE_BYTES:
        field, field_size = max(
            ((key, len(dump_yaml({key: value}).encode())) for key, value in ordered.items()),
            key=lambda pair: pair[1],
        )
        raise MetadataTooLargeError(
            f"the metadata would be {size:,} bytes, over the {MAX_MESSAGE_BYTES // 1024} KiB "
            f"a version tag may carry (`{field}` alone is {field_size:,} bytes); nothing was "
            "tagged: split the model's pipeline or declare fewer params and inputs upstream of it"
        )
    return message


# libyaml parses ~8x faster; it cannot refuse aliases as it composes, so it only reads text in
# which no anchor or alias can occur (neither `&` nor `*` anywhere: every modelgit document).
_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", None)


def _loader_for(body: str) -> Any:
    if _FAST_LOADER is not None and "&" not in body and "*" not in body:
        return _FAST_LOADER
    return _NoAliasLoader


def parse(message: str, required: tuple[str, ...] = REQUIRED) -> dict[str, Any]:
    """The metadata document in a tag message; MetadataError when there is none or it is unsafe.
    Stage tags pass `required=("schema", "model")`: an unassignment names no version."""
    if len(message.encode("utf-8", "replace")) > MAX_MESSAGE_BYTES:
        raise MetadataError(f"tag message is larger than {MAX_MESSAGE_BYTES // 1024} KiB")
    _, sep, body = message.partition("\n\n")
    if not sep or not body.strip():
        raise MetadataError("tag message carries no metadata document")
    # The block reader declines anything nested deeper than MAX_DEPTH: only PyYAML's answer
    # needs the depth check.
    document = block_yaml.load(body)
    needs_depth_check = document is None
    try:
        if document is None:
            document = yaml.load(body, Loader=_loader_for(body))
    except MetadataError:
        raise
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        raise MetadataError(f"metadata YAML does not parse: {str(exc).splitlines()[0]}") from exc
    if not isinstance(document, dict):
        raise MetadataError("metadata is not a YAML mapping")
    missing = [key for key in required if key not in document]
    if missing:
        raise MetadataError(f"metadata lacks {', '.join(missing)}")
    if document["schema"] != SCHEMA:
        raise MetadataError(f"metadata schema {document['schema']!r} is not supported")
    if needs_depth_check and _depth(document) > MAX_DEPTH:
        raise MetadataError(f"metadata nests deeper than {MAX_DEPTH} levels")
    if "version" in document:
        document["version"] = str(document["version"])
    return document


def _depth(value: Any, level: int = 0) -> int:
    if level > MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


def to_jsonable(value: Any) -> Any:
    """Metadata values as JSON can carry them (YAML timestamps become ISO strings)."""
    return json.loads(json.dumps(value, default=str))
