"""Pickle-scan verdicts, cached by what was scanned: the artifact's DVC md5 and the allow-list.

DVC hashes name immutable bytes, so a verdict never goes stale: a second `bump` of the same
artifact scans nothing. The cache is a plain JSON file inside `.git`, beside the tag cache;
any problem reading or writing it only means the artifact is scanned again.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

_FILE = Path("modelgit") / "pickle-verdicts-v1.json"
_MAX_ENTRIES = 2000  # oldest verdicts are dropped first

Verdict = list[list[str]]  # each finding as [location suffix, module, name, reason]


def _path(repo: Path) -> Path | None:
    git_dir = repo / ".git"
    return git_dir / _FILE if git_dir.is_dir() else None  # worktrees and bare repos: no cache


def _read(path: Path) -> dict[str, Verdict]:
    try:
        cached = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    if not isinstance(cached, dict):
        return {}
    return {
        key: verdict
        for key, verdict in cached.items()
        if isinstance(verdict, list)
        and all(
            isinstance(f, list) and len(f) == 4 and all(isinstance(p, str) for p in f)
            for f in verdict
        )
    }


def lookup(repo: Path, key: str) -> Verdict | None:
    """The cached verdict for `key`, or None when it was never scanned (or the cache is gone)."""
    path = _path(repo)
    return None if path is None else _read(path).get(key)


def record(repo: Path, key: str, verdict: Verdict) -> None:
    """Remember a verdict, atomically (a concurrent reader sees the old file or the new one)."""
    path = _path(repo)
    if path is None:
        return
    entries = _read(path)
    entries.pop(key, None)
    entries[key] = verdict
    kept = dict(list(entries.items())[-_MAX_ENTRIES:])
    try:
        path.parent.mkdir(exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".pickle-verdicts-")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(kept, out)
        os.replace(temporary, path)
    except OSError:
        return  # a read-only repository: the verdict is still right, only not remembered
