"""Pickle-scan verdicts, cached by what was scanned: the artifact's DVC md5 and the allow-list.

DVC hashes name immutable bytes, so a verdict never goes stale: a second `bump` of the same
artifact scans nothing. The cache is a plain JSON file inside `.git`, beside the tag cache;
any problem reading or writing it only means the artifact is scanned again.
"""

from __future__ import annotations

from pathlib import Path

from modelgit.sources import cache_file

_FILE = "pickle-verdicts-v1.json"
_MAX_ENTRIES = 2000  # oldest verdicts are dropped first

Verdict = list[list[str]]  # each finding as [location suffix, module, name, reason]


def _read(repo: Path) -> dict[str, Verdict]:
    return {
        key: verdict
        for key, verdict in cache_file.read(repo, _FILE).items()
        if isinstance(verdict, list)
        and all(
            isinstance(f, list) and len(f) == 4 and all(isinstance(p, str) for p in f)
            for f in verdict
        )
    }


def lookup(repo: Path, key: str) -> Verdict | None:
    """The cached verdict for `key`, or None when it was never scanned (or the cache is gone)."""
    return _read(repo).get(key)


def record(repo: Path, key: str, verdict: Verdict) -> None:
    """Remember a verdict, atomically (a concurrent reader sees the old file or the new one)."""
    entries = _read(repo)
    entries.pop(key, None)
    entries[key] = verdict
    cache_file.write(repo, _FILE, dict(list(entries.items())[-_MAX_ENTRIES:]))
