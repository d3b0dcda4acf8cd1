"""An artifact's bytes hashed again: a file, or every file its directory's `.dir` listing names.

The bytes come from the work tree when it holds this very version (HEAD's dvc.lock records the
same hash), else from the DVC cache, else from the default DVC remote; nothing is ever pulled
into the cache or the work tree.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from modelgit.sources import dvc, git
from modelgit.sources.pipeline import load
from modelgit.sources.tree import Tree
from modelgit.values import Progress

CHUNK = 1 << 20
WORKSPACE = "workspace"
CACHE = "DVC cache"
REMOTE = "DVC remote"


@dataclass(frozen=True)
class Rehash:
    """What hashing an artifact's bytes again found."""

    path: str
    sources: tuple[str, ...]  # where the bytes were read: workspace, DVC cache, DVC remote
    files: int  # files hashed
    size: int  # bytes hashed
    problems: tuple[str, ...]  # each changed, missing or extra file (named), or other failure
    absent: bool = False  # the bytes (or the listing) are nowhere to be read
    listing: str = ""  # for a directory: where its `.dir` listing was read

    @property
    def ok(self) -> bool:
        """True when every byte was found and hashed to what the version records."""
        return not self.problems


def md5_stream(
    handle: IO[bytes],
    what: str = "",
    total: int = 0,
    progress: Progress | None = None,
    done: int = 0,
) -> tuple[str, int]:
    """The md5 of a stream and its length, read in 1 MiB chunks into one reused buffer;
    `progress` hears (what, done + bytes read so far, total) after each chunk."""
    digest = hashlib.md5()
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    readinto = getattr(handle, "readinto", None)
    count = 0
    while True:
        if readinto is not None:
            got = readinto(buffer)
            chunk: Any = view[:got]
        else:  # some remote filesystems' files only `read`
            chunk = handle.read(CHUNK)
            got = len(chunk)
        if not got:
            break
        digest.update(chunk)
        count += got
        if progress is not None:
            progress(what, done + count, total)
    return digest.hexdigest(), count


def rehash(
    root: Path, path: str, md5: str, size: int | None, progress: Progress | None = None
) -> Rehash:
    """Hash the artifact at `path` (recorded as `md5`, `size` bytes) again, file by file."""
    remote = dvc.RemoteObjects(root)
    in_workspace = _workspace_holds(root, path, md5)
    if md5.endswith(".dir"):
        return _directory(root, path, md5, size, progress, remote, in_workspace)
    return _file(root, path, md5, size, progress, remote, in_workspace)


def _workspace_holds(root: Path, path: str, md5: str) -> bool:
    """True when HEAD's dvc.lock (or .dvc file) records this hash for `path` and it is on disk:
    the work tree is at this version, so its copy is the one to prove."""
    head = git.resolve_commit(root, "HEAD")
    if head is None or not (root / path).exists():
        return False
    entry = load(Tree(root, head)).entry(path)
    return entry is not None and entry.md5 == md5


def _nowhere(remote: dvc.RemoteObjects) -> str:
    """Where the bytes are not, and why the remote could not say, when it could not."""
    nowhere = "in neither the DVC cache nor the DVC remote"
    return f"{nowhere} ({remote.problem})" if remote.problem else nowhere


def _stored(
    root: Path, oid: str, remote: dvc.RemoteObjects
) -> tuple[str, Callable[[], IO[bytes]]] | None:
    """The DVC cache's or the remote's copy of an object: where, and how to open it."""
    cached = dvc.cache_object(root, oid)
    if cached is not None:
        return CACHE, lambda: cached.open("rb")
    handle = remote.open(oid)
    if handle is not None:
        return REMOTE, lambda: handle
    return None


def _file(
    root: Path,
    path: str,
    md5: str,
    size: int | None,
    progress: Progress | None,
    remote: dvc.RemoteObjects,
    in_workspace: bool,
) -> Rehash:
    if in_workspace:
        found: tuple[str, Callable[[], IO[bytes]]] | None = (
            WORKSPACE, lambda: (root / path).open("rb")
        )  # fmt: skip
    else:
        found = _stored(root, md5, remote)
    if found is None:
        return Rehash(path, (), 0, 0, (f"{path} ({md5}) is {_nowhere(remote)}",), absent=True)
    where, opener = found
    with opener() as handle:
        actual, count = md5_stream(handle, f"{path} ({where})", size or 0, progress)
    problems = []
    if actual != md5:
        problems.append(f"{path}: the {where} copy hashes to {actual}, not {md5}")
    elif size is not None and count != size:
        problems.append(f"{path}: the {where} copy has {count} bytes, not {size}")
    return Rehash(path, (where,), 1, count, tuple(problems))


def _listing(
    root: Path, path: str, md5: str, remote: dvc.RemoteObjects
) -> tuple[str, dict[str, str]] | Rehash:
    """The `.dir` listing (relative path -> md5) and where it was read, or why it cannot be."""
    found = _stored(root, md5, remote)
    if found is None:
        return Rehash(path, (), 0, 0, (f"{path}: its listing ({md5}) is {_nowhere(remote)}",), True)
    where, opener = found
    with opener() as handle:
        raw = handle.read()
    actual = hashlib.md5(raw).hexdigest()
    if actual != md5.removesuffix(".dir"):
        problem = f"{path}: its listing in the {where} hashes to {actual}.dir, not {md5}"
        return Rehash(path, (where,), 0, 0, (problem,))
    try:
        return where, {str(e["relpath"]): str(e["md5"]) for e in json.loads(raw)}
    except (ValueError, TypeError, KeyError) as exc:
        problem = f"{path}: its listing in the {where} is not in DVC's format ({exc})"
        return Rehash(path, (where,), 0, 0, (problem,))


def _directory(
    root: Path,
    path: str,
    md5: str,
    size: int | None,
    progress: Progress | None,
    remote: dvc.RemoteObjects,
    in_workspace: bool,
) -> Rehash:
    listing = _listing(root, path, md5, remote)
    if isinstance(listing, Rehash):
        return listing
    listed_in, files = listing
    hasher = _Hasher(f"{path} ({WORKSPACE if in_workspace else listed_in})", size or 0, progress)
    problems: list[str] = []
    sources: set[str] = set()
    for relpath, expected in sorted(files.items()):
        name = posixpath.join(path, relpath)
        if in_workspace:
            where, opener = WORKSPACE, _opener(root / name)
        else:
            stored = _stored(root, expected, remote)
            where, opener = stored if stored is not None else ("", None)
        if opener is None:
            place = "from the workspace" if in_workspace else f"{_nowhere(remote)}"
            problems.append(f"{name}: missing {place}" if in_workspace else f"{name}: {place}")
            continue
        sources.add(where)
        actual = hasher.hash(opener)
        if actual != expected:
            problems.append(
                f"{name}: the {where} copy hashes to {actual}, the listing says {expected}"
            )
    if in_workspace:
        on_disk = _files_under(root / path)
        problems += [f"{posixpath.join(path, extra)}: extra file in the workspace, not in the "
                     "listing" for extra in sorted(on_disk - set(files))]  # fmt: skip
    if not problems and size is not None and hasher.done != size:
        problems.append(f"{path}: its files hold {hasher.done} bytes, not {size}")
    ordered = tuple(s for s in (WORKSPACE, CACHE, REMOTE) if s in sources)
    # Not one file anywhere (gc freed them all, say), which is not the same as some missing.
    absent = not in_workspace and bool(files) and not sources and len(problems) == len(files)
    return Rehash(
        path, ordered, hasher.files, hasher.done, tuple(problems), absent, listing=listed_in
    )


def _opener(file: Path) -> Callable[[], IO[bytes]] | None:
    return (lambda: file.open("rb")) if file.is_file() else None


class _Hasher:
    """Hashes a directory's files one after another, reporting progress over the whole of it."""

    def __init__(self, what: str, total: int, progress: Progress | None) -> None:
        self.what, self.total, self.progress = what, total, progress
        self.done = 0
        self.files = 0

    def hash(self, opener: Callable[[], IO[bytes]]) -> str:
        with opener() as handle:
            actual, count = md5_stream(handle, self.what, self.total, self.progress, self.done)
        self.done += count
        self.files += 1
        return actual


def _files_under(folder: Path) -> set[str]:
    """Every file below `folder`, as paths relative to it with `/` separators."""
    found: set[str] = set()
    for directory, _, names in os.walk(folder):
        relative = Path(directory).relative_to(folder)
        found.update((relative / name).as_posix() for name in names)
    return found
