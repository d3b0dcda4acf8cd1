"""A revision's files, from git objects or from the work tree, behind one small interface."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from modelgit.sources import git


@dataclass(frozen=True)
class Tree:
    """A commit's files (read from git objects, no checkout) or, with no commit, the work tree."""

    repo: Path
    commit: str | None = None

    @property
    def label(self) -> str:
        """A short name for messages: the abbreviated commit, or `workspace`."""
        return self.commit[:12] if self.commit else "workspace"

    def files(self) -> list[str]:
        """Every path in the tree (in the work tree: tracked plus untracked, not ignored)."""
        if self.commit is not None:
            return git.list_files(self.repo, self.commit)
        return git.worktree_files(self.repo)

    def read(self, paths: list[str]) -> dict[str, bytes | None]:
        """The contents of `paths`; None for a path that is not there."""
        if self.commit is not None:
            return git.read_blobs(self.repo, self.commit, paths)
        contents: dict[str, bytes | None] = {}
        for path in paths:
            on_disk = self.repo / path
            contents[path] = on_disk.read_bytes() if on_disk.is_file() else None
        return contents
