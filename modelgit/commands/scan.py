"""`scan`: find pickle globals that execute code, without loading anything."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from modelgit.errors import InputError
from modelgit.model.pickles import Finding, scan_paths
from modelgit.values import as_list


@dataclass(frozen=True)
class ScanResult:
    """The unsafe globals found in the scanned files (none: nothing executes code on load)."""

    paths: tuple[str, ...]
    findings: tuple[Finding, ...]

    @property
    def safe(self) -> bool:
        """True when no scanned file imports a global that executes code."""
        return not self.findings


def scan(paths: list[Path | str] | Path | str) -> ScanResult:
    """Scan pickle-based files, or every pickle-based file under directories."""
    resolved = [Path(p) for p in as_list(paths)]
    for path in resolved:
        if not path.exists():
            raise InputError(f"{path} does not exist")
    return ScanResult(tuple(str(p) for p in resolved), tuple(scan_paths(resolved)))
