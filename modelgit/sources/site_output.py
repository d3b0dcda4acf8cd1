"""The folder a site is built into: what modelgit wrote there last time, what is there now, and
the page writer. A symlink anywhere the build would touch is refused before anything is written.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from modelgit.errors import OutputFileError

# Written into the output folder: which pages modelgit wrote, and their content hashes.
MANIFEST = ".modelgit-site.json"

Stat = tuple[int, int]  # (size, mtime_ns): what tells an edited page from the one we wrote


@dataclass
class Manifest:
    """What the previous build wrote: each page's content hash, input key and stat."""

    pages: dict[str, str] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    stats: dict[str, Stat] = field(default_factory=dict)


def read_manifest(out: Path) -> Manifest:
    """The previous build's manifest; refuse a folder holding files modelgit did not write."""
    marker = out / MANIFEST
    if out.is_symlink():  # a dangling one too: `exists()` follows it
        _refuse_symlink(out)
    if not out.exists():
        return Manifest()
    if not out.is_dir():
        raise OutputFileError(f"{out} is not a directory modelgit can write a site into")
    if not marker.is_file():
        if any(out.iterdir()):
            raise OutputFileError(
                f"{out} holds files modelgit did not write; choose an empty or new folder with -o"
            )
        return Manifest()
    try:
        recorded = json.loads(marker.read_text())
    except (ValueError, OSError) as exc:
        raise OutputFileError(f"{marker} does not parse; remove the folder to rebuild") from exc
    pages, keys = (
        {str(k): str(v) for k, v in (recorded.get(section) or {}).items()}
        for section in ("pages", "keys")
    )
    # A manifest written before stats were recorded has none: each page is checked once.
    stats = {
        str(k): (int(v[0]), int(v[1]))
        for k, v in (recorded.get("stats") or {}).items()
        if isinstance(v, list) and len(v) == 2
    }
    return Manifest(pages, keys, stats)


def write_manifest(out: Path, manifest: Manifest) -> None:
    """Record what this build wrote."""
    content = {"pages": manifest.pages, "keys": manifest.keys, "stats": manifest.stats}
    write_page(out, MANIFEST, json.dumps(content, sort_keys=True).encode(), True)


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return path.lstat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise OutputFileError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _refuse_symlink(path: Path) -> None:
    raise OutputFileError(f"{path} is a symlink; modelgit never writes through one")


def scan(out: Path, relatives: Iterable[str]) -> dict[str, Stat | None]:
    """Each page's (size, mtime_ns) on disk, or None; refuse a symlink at any file or folder the
    build touches. A folder is listed once, and a missing folder's files are not looked for."""
    by_folder: dict[str, list[str]] = {}
    for relative in relatives:
        folder, _, name = relative.rpartition("/")
        by_folder.setdefault(folder, []).append(name)
    missing: set[str] = set()
    for folder in sorted({f for f in by_folder if f} | _ancestors(by_folder)):
        parent = folder.rpartition("/")[0]
        found = None if parent in missing else _lstat(out / folder)
        if found is None:
            missing.add(folder)
        elif stat.S_ISLNK(found.st_mode):
            _refuse_symlink(out / folder)
    stats: dict[str, Stat | None] = {}
    for folder, names in by_folder.items():
        place = out / folder if folder else out
        entries = {} if folder in missing else _entries(place)
        for name in names:
            relative = f"{folder}/{name}" if folder else name
            entry = entries.get(name)
            if entry is None:
                stats[relative] = None
                continue
            if entry.is_symlink():
                _refuse_symlink(place / name)
            found = entry.stat(follow_symlinks=False)
            regular = stat.S_ISREG(found.st_mode)
            stats[relative] = (found.st_size, found.st_mtime_ns) if regular else None
    return stats


def _ancestors(folders: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for folder in folders:
        parts = folder.split("/")
        found.update("/".join(parts[:i]) for i in range(1, len(parts)) if folder)
    return found


def _entries(place: Path) -> dict[str, os.DirEntry[str]]:
    try:
        with os.scandir(place) as listing:
            return {entry.name: entry for entry in listing}
    except (FileNotFoundError, NotADirectoryError):
        return {}
    except OSError as exc:
        raise OutputFileError(f"cannot read {place}: {exc.strerror or exc}") from exc


def make_folder(out: Path, folder: str) -> None:
    """Create a folder of the site (and its parents) once, before its pages are written."""
    path = out / folder
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputFileError(f"cannot write {path}: {exc.strerror or exc}") from exc


def write_page(out: Path, relative: str, content: bytes, exists: bool) -> Stat:
    """Write one page (its folder exists). A page that is already there is written beside its
    place and moved in, so a reader never sees half of it; a new page is created in place
    (refusing to follow a symlink that appeared since the scan). Returns its stat."""
    # Plain strings: path objects cost more per page than the system calls that write it.
    path = f"{out}/{relative}"
    folder, _, name = path.rpartition("/")
    temporary = f"{folder}/.{name}.{os.getpid()}.tmp" if exists else path
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        if exists:
            _unlink(temporary)
        handle = os.open(temporary, flags, 0o644)
        try:
            view = memoryview(content)
            while view:
                view = view[os.write(handle, view) :]
            os.fchmod(handle, 0o644)
            written = os.fstat(handle)
        finally:
            os.close(handle)
        if exists:
            os.replace(temporary, path)
    except OSError as exc:
        if exists:
            _unlink(temporary)
        raise OutputFileError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return written.st_size, written.st_mtime_ns


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        return


def remove(out: Path, relative: str) -> None:
    """Remove a page an earlier build wrote and this one no longer has."""
    stale = out / relative
    try:
        stale.unlink()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise OutputFileError(f"cannot remove {stale}: {exc.strerror or exc}") from exc
