"""Where `publish` puts a version's bytes: one human-readable, immutable place per version.

The layout is a contract shared by `publish`, KServe manifests, `get` and `gc`:
``<remote>/modelgit/<model as tagged>/<vX.Y.Z>/<file name>`` (a directory artifact keeps its
tree under that prefix), beside ``modelgit.json`` describing the version.
"""

from __future__ import annotations

from modelgit.registry.tags import model_to_tag
from modelgit.registry.versions import Version

PUBLISHED_ROOT = "modelgit"
DESCRIPTOR_NAME = "modelgit.json"


def published_prefix(remote_url: str, model: str, version: Version | str) -> str:
    """The directory URI that holds a published version, under a DVC remote's URL."""
    tagged = model_to_tag(model)
    label = version if str(version).startswith("v") else f"v{version}"
    return f"{remote_url.rstrip('/')}/{PUBLISHED_ROOT}/{tagged}/{label}"


def published_artifact(remote_url: str, model: str, version: Version | str, name: str) -> str:
    """The URI of a published artifact (file or directory) named ``name``."""
    return f"{published_prefix(remote_url, model, version)}/{name}"


def published_descriptor(remote_url: str, model: str, version: Version | str) -> str:
    """The URI of the ``modelgit.json`` that describes a published version."""
    return f"{published_prefix(remote_url, model, version)}/{DESCRIPTOR_NAME}"
