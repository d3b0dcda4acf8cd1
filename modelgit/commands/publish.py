"""`publish`: copy a version's bytes to one readable, write-once place in the DVC remote.

The layout is `registry.published`'s: ``<remote>/modelgit/<model>/<vX.Y.Z>/<file name>`` (a
directory artifact keeps its tree) beside ``modelgit.json``. Bytes come from the local DVC
cache, else the remote's own object, are md5-checked before they are written and after, and
a location that holds different bytes is never overwritten.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from modelgit.errors import PipelineError, PublishCheckError, PublishConflictError
from modelgit.model import facts
from modelgit.registry import published
from modelgit.registry.lookup import model_state, pick, root_of
from modelgit.registry.state import Event
from modelgit.registry.tags import split_reference
from modelgit.sources import dvc
from modelgit.values import Progress

CHUNK = 1 << 20


@dataclass(frozen=True)
class PublishedFile:
    """One file of a published version: its path under the version's directory and md5."""

    path: str
    md5: str
    copied: bool  # False when identical bytes were there already


@dataclass(frozen=True)
class PublishResult:
    """Where a version's bytes are published, and whether this call copied anything."""

    model: str
    version: str
    tag: str
    uri: str  # the version's directory: what KServe's storageUri names
    artifact_uri: str  # the artifact itself (a file, or a directory for a directory artifact)
    descriptor_uri: str
    files: tuple[PublishedFile, ...]

    @property
    def copied(self) -> bool:
        """True when this call wrote anything (False: it was published already)."""
        return any(f.copied for f in self.files)


def publish(
    repo: Path | str = ".", reference: str | None = None, *, progress: Progress | None = None
) -> PublishResult:
    """Publish a version (`MODEL@vX.Y.Z`, `MODEL#stage` or the latest) to the DVC remote."""
    root = root_of(repo)
    model, version, stage = split_reference(reference) if reference else (None, None, None)
    state = model_state(root, model)
    event = pick(state, version, stage)
    document = facts.read_documents(root, [event])[event.tag]
    artifact = document.get("artifact") or {}
    md5, path = str(artifact.get("md5") or ""), str(artifact.get("path") or "")
    if not md5 or not path:
        raise PipelineError(f"{event.tag} records no artifact md5 and path; nothing to publish")
    store = dvc.default_remote(root)
    name = posixpath.basename(path.rstrip("/"))
    # The same layout as the URIs below, relative to the remote's root.
    directory = published.published_prefix("", state.name, event.version or "").lstrip("/")
    files = [
        _publish_file(root, store, directory, f"{name}/{rel}" if rel else name, oid, progress)
        for rel, oid in _objects(root, store, md5)
    ]
    descriptor = _descriptor(event, document, name, files)
    _write_once(store, f"{directory}/{published.DESCRIPTOR_NAME}", descriptor)
    prefix = published.published_prefix(store.url, state.name, event.version or "")
    return PublishResult(
        model=state.name,
        version=event.version or "",
        tag=event.tag,
        uri=prefix,
        artifact_uri=published.published_artifact(store.url, state.name, event.version or "", name),
        descriptor_uri=published.published_descriptor(store.url, state.name, event.version or ""),
        files=tuple(files),
    )


def _objects(root: Path, store: dvc.RemoteStore, md5: str) -> list[tuple[str, str]]:
    """(path inside the artifact, md5) of each file: one entry for a file, the tree for a
    directory (DVC's `.dir` listing, from the cache or the remote)."""
    if not md5.endswith(".dir"):
        return [("", md5)]
    local = dvc.cache_object(root, md5)
    if local is not None:
        return dvc.directory_listing(local.read_bytes())
    location = store.object_path(md5)
    if not store.exists(location):
        raise PipelineError(f"the directory listing {md5} is in neither the DVC cache nor remote")
    return dvc.directory_listing(store.read_bytes(location))


def _publish_file(
    root: Path,
    store: dvc.RemoteStore,
    directory: str,
    inside: str,
    md5: str,
    progress: Progress | None,
) -> PublishedFile:
    """Copy one object to `inside` the version's directory unless identical bytes are there."""
    relative = f"{directory}/{inside}"
    target = store.path_of(relative)
    if store.exists(target):
        with store.open(target) as handle:
            there = _md5(handle, store.size(target), f"{inside} (published)", progress)
        if there != md5:
            raise PublishConflictError(
                f"{store.url}/{relative} already holds different bytes (md5 {there}, the version "
                f"records {md5}); published versions are write-once"
            )
        return PublishedFile(inside, md5, copied=False)
    with tempfile.TemporaryDirectory(prefix="modelgit-publish-") as scratch:
        local = _local_copy(root, store, md5, Path(scratch))
        with local.open("rb") as handle:
            source = _md5(handle, local.stat().st_size, f"{inside} (source)", progress)
        if source != md5:
            raise PublishCheckError(
                f"the DVC object for {inside} hashes to {source}, not the recorded {md5}; "
                "refusing to publish it"
            )
        store.upload(local, target)
    with store.open(target) as handle:
        written = _md5(handle, store.size(target), f"{inside} (published)", progress)
    if written != md5:
        raise PublishCheckError(
            f"{store.url}/{relative} hashes to {written} after upload, not {md5}"
        )
    return PublishedFile(inside, md5, copied=True)


def _local_copy(root: Path, store: dvc.RemoteStore, md5: str, scratch: Path) -> Path:
    """The object as a local file: the DVC cache's own, or downloaded from the remote."""
    cached = dvc.cache_object(root, md5)
    if cached is not None:
        return cached
    location = store.object_path(md5)
    if not store.exists(location):
        raise PipelineError(
            f"object {md5} is in neither the DVC cache nor the remote {store.url}; `dvc push` it"
        )
    local = scratch / md5
    store.download(location, local)
    return local


def _md5(handle: IO[bytes], total: int, label: str, progress: Progress | None) -> str:
    digest = hashlib.md5()
    done = 0
    while chunk := handle.read(CHUNK):
        digest.update(chunk)
        done += len(chunk)
        if progress is not None:
            progress(label, done, total)
    return digest.hexdigest()


def _descriptor(
    event: Event, document: dict[str, Any], name: str, files: list[PublishedFile]
) -> bytes:
    artifact = document.get("artifact") or {}
    body = {
        "schema": 1,
        "model": event.model,
        "version": event.version,
        "tag": event.tag,
        "commit": event.commit,
        "artifact": {
            "name": name,
            "path": artifact.get("path"),
            "md5": artifact.get("md5"),
            "size": artifact.get("size"),
        },
        "fingerprint": document.get("fingerprint"),
        "files": [{"path": f.path, "md5": f.md5} for f in files],
    }
    return (json.dumps(body, indent=2, sort_keys=True) + "\n").encode()


def _write_once(store: dvc.RemoteStore, relative: str, data: bytes) -> None:
    """Write the descriptor last (its presence means the version is complete); never replace
    a different one."""
    target = store.path_of(relative)
    if store.exists(target):
        if store.read_bytes(target) != data:
            raise PublishConflictError(
                f"{store.url}/{relative} already describes a different publication; published "
                "versions are write-once"
            )
        return
    store.write_bytes(target, data)
