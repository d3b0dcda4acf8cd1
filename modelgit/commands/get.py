"""`get`: a version's artifact bytes by name or stage, md5-checked before they reach PATH."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from modelgit.errors import OutputFileError, PipelineError, VerificationError
from modelgit.values import Progress

_CHUNK = 1 << 20


@dataclass(frozen=True)
class GetResult:
    """Where the artifact landed, and what it is."""

    path: Path
    md5: str
    size: int | None
    version: str
    tag: str
    already_there: bool = False
    deprecated: bool = False  # the version was deprecated: served all the same, flagged
    model_deprecated: bool = False  # the whole model was: likewise


def _file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def content_md5(path: Path) -> str:
    """DVC's hash of a file, or of a directory (`<md5 of its sorted listing>.dir`)."""
    if not path.is_dir():
        return _file_md5(path)
    listing = [
        {"md5": _file_md5(item), "relpath": item.relative_to(path).as_posix()}
        for item in sorted(path.rglob("*"), key=lambda p: p.relative_to(path).as_posix())
        if item.is_file()
    ]
    # DVC hashes a directory as the md5 of its listing, serialised exactly like this.
    text = json.dumps(listing, sort_keys=True).encode()
    return hashlib.md5(text, usedforsecurity=False).hexdigest() + ".dir"


def _fetch(
    repo: Path | str,
    url: str | None,
    tag: str,
    path: str,
    md5: str,
    landed: Path,
    progress: Progress | None,
) -> None:
    """The bytes from this repository's DVC cache, else through DVC at the tag (its cache or
    the remote that commit configures), else, for a file, the remote configured here now."""
    from modelgit.errors import ModelgitError
    from modelgit.registry.lookup import root_of
    from modelgit.sources import dvc

    root = None if url else root_of(repo)
    cached = dvc.cache_path(root, md5) if root is not None and not md5.endswith(".dir") else None
    if cached is not None:
        shutil.copyfile(cached, landed)
        return
    try:
        dvc.download(url or str(root), tag, path, landed, progress)
        return
    except ModelgitError:
        if root is None or md5.endswith(".dir"):
            raise
        opener = dvc.open_remote(root, md5)  # the remote the work tree configures today
        if opener is None:
            raise
    with opener() as source, landed.open("wb") as sink:
        shutil.copyfileobj(source, sink, 1 << 20)


def get(
    reference: str,
    out: Path | str | None = None,
    *,
    repo: Path | str = ".",
    url: str | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> GetResult:
    """Download `MODEL`, `MODEL@vX.Y.Z` or `MODEL#stage` from `repo` (or the git `url`) to
    `out` (default: the artifact's file name here); returns where it is."""
    from modelgit.commands.remote import show_remote
    from modelgit.commands.show import show

    info = show_remote(url, reference) if url else show(repo, reference)
    artifact = info.metadata.get("artifact") or {}
    path, md5 = str(artifact.get("path") or ""), str(artifact.get("md5") or "")
    if not path or not md5:
        raise VerificationError(f"{info.tag} records no artifact path and md5 to check against")
    name = PurePosixPath(path).name
    is_directory = md5.endswith(".dir")
    if out is not None and not str(out).strip():
        raise OutputFileError("--out is empty; name a file or a folder to put the artifact in")
    target = Path(out) if out is not None else Path.cwd() / name
    if target.is_dir() and not target.is_symlink() and not is_directory:
        target = target / name  # like `cp FILE DIR`: the file goes inside the folder
    if target.is_symlink():
        raise OutputFileError(f"{target} is a symlink; modelgit never writes through one")
    result = GetResult(
        target, md5, artifact.get("size"), info.version, info.tag,
        deprecated=info.deprecated, model_deprecated=info.model_deprecated,
    )  # fmt: skip
    if target.exists():
        if content_md5(target) == md5:
            return replace(result, already_there=True)
        if target.is_dir():
            # --force replaces a file, never a folder: a folder may hold anything.
            raise OutputFileError(
                f"{target} is a folder that differs from {info.tag}; remove it or choose -o"
            )
        if not force:
            raise OutputFileError(f"{target} exists and differs from {info.tag}; pass --force")
    made = [folder for folder in (target.parent, *target.parent.parents) if not folder.exists()]
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # Download beside the target, check, then move: a failed or corrupt download never
        # leaves anything at `target`.
        scratch = Path(tempfile.mkdtemp(prefix=".modelgit-get-", dir=target.parent))
    except OSError as exc:
        raise OutputFileError(f"cannot write into {target.parent}: {exc.strerror or exc}") from exc
    landed_at_target = False
    try:
        landed = scratch / name
        try:
            _fetch(repo, url, info.tag, path, md5, landed, progress)
        except PipelineError as exc:
            if info.deprecated:  # retired: gc frees such bytes on purpose
                raise PipelineError(
                    f"{info.tag} is retired, and its bytes are not to be had (gc frees a retired "
                    f"version's storage): {exc}"
                ) from exc
            raise
        found = content_md5(landed)
        if found != md5:
            raise VerificationError(f"{info.tag}: downloaded bytes have md5 {found}, not {md5}")
        if target.exists():
            target.unlink()
        os.replace(landed, target)
        landed_at_target = True
    except OSError as exc:
        raise OutputFileError(f"cannot write {target}: {exc.strerror or exc}") from exc
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if not landed_at_target:  # leave no folder behind that only this download made
            for folder in made:
                with contextlib.suppress(OSError):
                    folder.rmdir()
    return result
