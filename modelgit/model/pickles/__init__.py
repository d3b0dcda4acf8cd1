"""The pickle scanner: which globals a pickle-based file would import, without loading it.

Decides by allow-list (see `allowlist`): every import a loader could make is read from the
opcode stream (`machine`), in every container a loader could open (`containers`), and any
global not known to be safe is refused, as is anything the scan cannot read to the end.
Array and bytes payloads are skipped, never read, so a scan costs what the opcodes cost, and
a verdict is cached by the artifact's DVC md5 (`scan_artifact`).

Chosen over building on picklescan or fickling: picklescan decides by deny-list (the gap this
scanner closes) and buffers every opcode; fickling's allow-list check rebuilds the whole
pickle as an AST in memory and neither follows joblib's array layout nor skips payloads.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from modelgit.model.pickles.allowlist import AllowList
from modelgit.model.pickles.containers import PICKLE_SUFFIXES, sniff, streams
from modelgit.model.pickles.machine import Import, walk
from modelgit.model.pickles.opcodes import Broken
from modelgit.model.pickles.reader import Reader, Truncated
from modelgit.sources import verdict_cache

__all__ = [
    "PICKLE_SUFFIXES",
    "AllowList",
    "Finding",
    "is_pickle_file",
    "scan",
    "scan_artifact",
    "scan_paths",
]
SCANNER_VERSION = "2"  # part of every cached verdict's key: a changed scanner rescans


@dataclass(frozen=True)
class Finding:
    """Why a pickle-based file is refused: a global it imports, or what could not be read."""

    location: str  # the file (and archive member) it is in
    module: str  # empty when the finding is not one global
    name: str
    reason: str = "unknown global"

    @property
    def text(self) -> str:
        """One line: `unknown global posix.system`, or the reason."""
        return f"{self.reason} {self.module}.{self.name}" if self.module else self.reason


def is_pickle_file(path: Path) -> bool:
    """True when `path` is a file a loader would unpickle (by its name or first bytes)."""
    if not path.is_file():
        return False
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError:
        return False
    is_torch_zip = head.startswith(b"PK\x03\x04") and path.suffix.lower() in (".pt", ".pth")
    return sniff(head, path.name) or is_torch_zip


def _findings(location: str, stream: BinaryIO, allow: AllowList) -> list[Finding]:
    """Scan one pickle stream and what follows it (a loader may call `load` again)."""
    reader = Reader(stream)
    found: list[Import] = []
    first = True
    while True:
        start = reader.tell()
        try:
            if reader.byte() is None:
                if first:
                    found.append(Import("", "", "an empty file, not a pickle"))
                break
            reader.seek(start)
            walk(reader, allow, found)
        except (Broken, Truncated, OSError, EOFError) as exc:
            if first:  # a later pickle that fails to read stops `load` there, harmlessly
                found.append(Import("", "", f"not a readable pickle ({exc}, near byte {start})"))
            break
        first = False
    unique = dict.fromkeys(found)
    return [Finding(location, i.module, i.name, i.reason) for i in unique]


def scan(path: Path, allow: AllowList | None = None) -> list[Finding]:
    """Why a pickle-based file (raw, joblib, compressed, torch zip) is unsafe to load; [] if not."""
    allow = allow or AllowList()
    findings: list[Finding] = []
    try:
        with path.open("rb") as handle:
            for location, stream in streams(handle, str(path)):  # type: ignore[arg-type]
                if isinstance(stream, str):
                    findings.append(Finding(location, "", "", stream))
                    continue
                findings += _findings(location, stream, allow)
    except OSError as exc:
        findings.append(Finding(str(path), "", "", f"cannot be read ({exc.strerror or exc})"))
    return findings


def _files(path: Path) -> list[Path]:
    """The pickle-based files of a directory (by name: opening 100,000 files costs too much)."""
    found = []
    for folder, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if d not in (".git", ".dvc"))
        found += [Path(folder, f) for f in sorted(files) if f.lower().endswith(PICKLE_SUFFIXES)]
    return found


def scan_paths(paths: Iterable[Path], allow: AllowList | None = None) -> list[Finding]:
    """`scan` each file named, and every pickle-based file under each directory named."""
    findings = []
    for path in paths:
        for file in _files(path) if path.is_dir() else [path]:
            findings.extend(scan(file, allow))
    return findings


def scanned_files(paths: Iterable[Path]) -> list[Path]:
    """The files `scan_paths` reads for `paths`."""
    return [f for p in paths for f in (_files(p) if p.is_dir() else [p])]


def scan_artifact(root: Path, path: Path, md5: str, allow: AllowList) -> list[Finding]:
    """`scan_paths` of a DVC-tracked artifact, remembered by its md5 and the allow-list."""
    key = f"{md5}:{allow.fingerprint}:{SCANNER_VERSION}"
    cached = verdict_cache.lookup(root, key)
    prefix = str(path)
    if cached is not None:
        return [Finding(prefix + where, module, name, why) for where, module, name, why in cached]
    findings = scan_paths([path], allow)
    verdict = [[f.location.removeprefix(prefix), f.module, f.name, f.reason] for f in findings]
    verdict_cache.record(root, key, verdict)
    return findings
