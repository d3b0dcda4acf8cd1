"""`scan`: refuse pickle globals that are not known to be safe, without loading anything."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from modelgit.errors import InputError
from modelgit.model.pickles import AllowList, Finding, scan_paths, scanned_files
from modelgit.registry.lookup import root_of
from modelgit.sources import config
from modelgit.values import as_list


@dataclass(frozen=True)
class ScanResult:
    """What the scanned files import that is not on the allow-list (none: safe to load)."""

    paths: tuple[str, ...]
    findings: tuple[Finding, ...]
    files: tuple[str, ...] = ()  # every file read
    allowed: tuple[str, ...] = ()  # the project's own allow-list entries that applied

    @property
    def safe(self) -> bool:
        """True when every global the scanned files import is on the allow-list."""
        return not self.findings


def _project_root(path: Path) -> Path | None:
    """The git work tree holding `path` (found on disk: scanning needs no git)."""
    for folder in [path, *path.parents] if path.is_dir() else path.parents:
        if (folder / ".git").exists():
            return folder
    return None


def scan(
    paths: list[Path | str] | Path | str,
    allow: list[str] | None = None,
    repo: Path | str | None = None,
) -> ScanResult:
    """Scan pickle-based files, or every one under directories, against the allow-list.

    The allow-list is the built-in one, plus `scan.allow` from the `.modelgit.yaml` of `repo`
    (default: the repository holding the first path), plus `allow` (`MODULE.NAME`, `PKG.*`).
    """
    resolved = [Path(p) for p in as_list(paths)]
    if not resolved:
        raise InputError("name at least one file or directory to scan")
    for path in resolved:
        if not path.exists():
            raise InputError(f"{path} does not exist")
    root = root_of(repo) if repo is not None else _project_root(resolved[0].resolve())
    entries = [*(config.load(root).scan_allow if root is not None else ()), *(allow or [])]
    try:
        allow_list = AllowList.of(entries)
    except ValueError as exc:
        raise InputError(f"allow-list entries: {exc}") from exc
    return ScanResult(
        paths=tuple(str(p) for p in resolved),
        findings=tuple(scan_paths(resolved, allow_list)),
        files=tuple(str(f) for f in scanned_files(resolved)),
        allowed=allow_list.extra,
    )
