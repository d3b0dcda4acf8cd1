"""A JSON cache file inside the repository's `.git/modelgit/`: read forgivingly, written atomically.

Every cache modelgit keeps (tag objects, metadata documents, pickle verdicts) is keyed by
something immutable, so an entry never goes stale; a missing, unreadable or unwritable file only
means the work is done again. Linked worktrees share their main repository's cache (the
objects the keys name are shared too).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def _path(repo: Path, name: str) -> Path | None:
    git_dir = _common_git_dir(repo)
    return git_dir / "modelgit" / name if git_dir is not None else None


def _common_git_dir(repo: Path) -> Path | None:
    """Where git keeps the repository's shared state, found without running git (every read
    command would pay a process for it): `.git`, or the main repository's for a linked
    worktree."""
    dot_git = repo / ".git"
    if dot_git.is_dir():
        return dot_git
    if dot_git.is_file():
        try:
            pointer = dot_git.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return None
        if not pointer.startswith("gitdir:"):
            return None
        own = (repo / pointer[len("gitdir:") :].strip()).resolve()
        try:
            common = (own / "commondir").read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return own if own.is_dir() else None  # a submodule: its git directory is its own
        return (own / common).resolve()
    return None


def read(repo: Path, name: str) -> dict[str, Any]:
    """The mapping stored in the cache file `name`, or an empty one."""
    path = _path(repo, name)
    if path is None:
        return {}
    try:
        cached = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    return cached if isinstance(cached, dict) else {}


def write(repo: Path, name: str, entries: Mapping[str, Any]) -> None:
    """Replace the cache file `name` atomically (a concurrent reader sees the old or the new)."""
    write_text(repo, name, json.dumps(dict(entries)))  # json.dump encodes in Python: 10x slower


def write_text(repo: Path, name: str, text: str) -> None:
    """Replace the cache file `name` with `text`, a JSON object already encoded."""
    path = _path(repo, name)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        import tempfile  # only writers need it (with `random`): readers start faster

        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except OSError:
        return  # a read-only repository: the answer is still right, only not remembered
