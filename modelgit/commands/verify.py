"""`verify`: a version is what its tag says (metadata, dvc.lock, fingerprint, bytes, signature)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from modelgit.errors import ModelgitError
from modelgit.model.facts import locate, upstream_data
from modelgit.registry import metadata
from modelgit.registry.lookup import model_state, pick, read_metadata, root_of
from modelgit.registry.state import Event
from modelgit.registry.tags import split_reference
from modelgit.sources import dvc, git
from modelgit.sources.pipeline import load, params_of, read_artifacts
from modelgit.sources.tree import Tree

CHUNK = 1 << 20
Progress = Callable[[str, int, int], None]  # (label, bytes done, bytes total)


@dataclass(frozen=True)
class Check:
    """One verified property of a version."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Verification:
    """Every check of one version; it verifies when all of them pass."""

    model: str
    version: str
    tag: str
    commit: str
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return all(check.ok for check in self.checks)


def md5_stream(handle: IO[bytes], total: int, label: str, progress: Progress | None) -> str:
    """The md5 of a stream, read in 1 MiB chunks into one reused buffer."""
    digest = hashlib.md5()
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    done = 0
    while count := handle.readinto(buffer):  # type: ignore[attr-defined]
        digest.update(view[:count])
        done += count
        if progress is not None:
            progress(label, done, total)
    return digest.hexdigest()


def _artifact_bytes(root: Path, path: str, md5: str, size: int, progress: Progress | None) -> Check:
    """Hash the artifact from the workspace (when at this version), the cache, or the remote."""
    found = _open_source(root, path, md5)
    if found is None:
        return Check("artifact bytes", False, f"{path} ({md5}) is not in the DVC cache or remote")
    where, opener = found
    with opener() as handle:
        actual = md5_stream(handle, size, f"{path} ({where})", progress)
    if actual != md5:
        return Check(
            "artifact bytes", False, f"{path} from the {where} hashes to {actual}, not {md5}"
        )
    return Check("artifact bytes", True, f"{path} from the {where} hashes to {md5}")


def _open_source(root: Path, path: str, md5: str) -> tuple[str, Callable[[], IO[bytes]]] | None:
    """The first place holding the bytes; the remote (and its DVC import) only when needed."""
    head = git.resolve_commit(root, "HEAD")
    if head is not None and (root / path).is_file():
        entry = load(Tree(root, head)).entry(path)
        if entry is not None and entry.md5 == md5:
            return "workspace", lambda: (root / path).open("rb")
    cached = dvc.cache_path(root, md5)
    if cached is not None:
        return "DVC cache", lambda: cached.open("rb")
    remote = _remote_opener(root, md5)
    return ("DVC remote", remote) if remote is not None else None


def _remote_opener(root: Path, md5: str) -> Callable[[], IO[bytes]] | None:
    """Open the object in the default DVC remote, when there is one and it holds it."""
    from modelgit.sources.dvc import open_remote

    return open_remote(root, md5)


def _against_lock(root: Path, event: Event, document: dict[str, Any]) -> list[Check]:
    """What the commit's dvc.lock says against what the metadata recorded."""
    pipe = load(Tree(root, event.commit))
    artifact = read_artifacts(pipe.dvcfiles).get(event.model)
    if artifact is None:
        return [Check("dvc.lock", False, f"{event.model} is not declared at {event.commit[:12]}")]
    try:
        lineage = locate(pipe, artifact)
    except ModelgitError as exc:
        return [Check("dvc.lock", False, str(exc))]
    recorded = document.get("artifact") or {}
    checks = []
    if lineage.artifact.md5 != recorded.get("md5") or lineage.artifact.size != recorded.get("size"):
        checks.append(Check("dvc.lock", False, (
            f"{artifact.path} is {lineage.artifact.md5} ({lineage.artifact.size} B) in the "
            f"commit's dvc.lock, the tag records {recorded.get('md5')} ({recorded.get('size')} B)"
        )))  # fmt: skip
    else:
        checks.append(Check("dvc.lock", True, f"{artifact.path} md5 {recorded.get('md5')}"))
    # The same upstream data bump recorded, as the commit's dvc.lock has it now.
    in_lock = {path: entry.md5 for path, entry in upstream_data(pipe, lineage, artifact).items()}
    in_tag = {d.get("path"): d.get("md5") for d in document.get("data") or []}
    for path in sorted(set(in_lock) | set(in_tag), key=str):
        if in_lock.get(path) != in_tag.get(path):
            found = in_lock.get(path) or "nothing"
            checks.append(
                Check("data", False, f"{path} is {found} in dvc.lock, recorded {in_tag.get(path)}")
            )
    params = params_of(pipe, lineage.upstream)
    if params != (document.get("params") or {}):
        changed = sorted(k for k in set(params) | set(document.get("params") or {})
                         if params.get(k) != (document.get("params") or {}).get(k))  # fmt: skip
        checks.append(Check("params", False, f"params differ from dvc.lock: {', '.join(changed)}"))
    expected = metadata.fingerprint(
        str(recorded.get("md5") or ""), document.get("params") or {}, document.get("data") or []
    )
    ok = expected == document.get("fingerprint")
    detail = (
        f"{expected}" if ok else f"recomputes to {expected}, recorded {document.get('fingerprint')}"
    )
    checks.append(Check("fingerprint", ok, detail))
    return checks


def _signature(root: Path, event: Event, signed: bool, require: bool) -> Check | None:
    if not signed:
        return Check("signature", False, "the tag is not signed") if require else None
    refused = git.verify_tag(root, event.tag)
    if refused is not None:
        return Check("signature", False, f"the signature does not verify: {refused}")
    return Check("signature", True, "the signature verifies")


def verify_one(
    root: Path, event: Event, *, require_signed: bool = False, progress: Progress | None = None
) -> Verification:
    """Every check of one version."""
    document, problem, signed = read_metadata(root, event)
    checks = [Check("tag", True, f"{event.tag} is an annotated tag on {event.commit[:12]}")]
    if document is None:
        checks.append(Check("metadata", False, problem or "no metadata"))
    else:
        checks.append(Check("metadata", True, "parses"))
        recorded = str(document.get("commit") or "")
        if recorded != event.commit:
            checks.append(Check("commit", False, (
                f"the tag points at {event.commit[:12]} but its metadata was made for "
                f"{recorded[:12]} (re-pointed?)"
            )))  # fmt: skip
        checks.extend(_against_lock(root, event, document))
        artifact = document.get("artifact") or {}
        if str(artifact.get("md5", "")).endswith(".dir"):
            checks.append(
                Check("artifact bytes", True, "a directory artifact: its files are not re-hashed")
            )
        elif artifact.get("md5"):
            checks.append(_artifact_bytes(root, str(artifact.get("path")), str(artifact["md5"]),
                                          int(artifact.get("size") or 0), progress))  # fmt: skip
    signature = _signature(root, event, signed, require_signed)
    if signature is not None:
        checks.append(signature)
    return Verification(event.model, event.version or "", event.tag, event.commit, tuple(checks))


def verify(
    repo: Path | str = ".",
    reference: str | None = None,
    *,
    all_versions: bool = False,
    require_signed: bool = False,
    progress: Progress | None = None,
) -> list[Verification]:
    """Verify one version (latest by default), or with `all_versions` every version of the model."""
    root = root_of(repo)
    model, version, stage = split_reference(reference) if reference else (None, None, None)
    _check_annotated(root, model, version)
    state = model_state(root, model)
    events = (
        list(state.versions) if all_versions else [pick(state, version, stage, deprecated_ok=True)]
    )
    return [
        verify_one(root, event, require_signed=require_signed, progress=progress)
        for event in events
    ]


def _check_annotated(root: Path, model: str | None, version: str | None) -> None:
    """A lightweight tag with a version's name is not a version: say so rather than 'unknown'."""
    if model is None or version is None:
        return
    from modelgit.errors import VerificationError
    from modelgit.registry.tags import model_from_tag, version_tag

    tag = version_tag(model_from_tag(model), version)
    kind = git.tag_object_type(root, tag)
    if kind is not None and kind != "tag":
        raise VerificationError(
            f"{tag} is a lightweight tag: it carries no metadata and is not a version"
        )
