"""modelgit: versions of DVC-tracked models as annotated git tags carrying metadata.

The Python API mirrors the CLI: ``init``, ``bump``, ``list_models``, ``show``, ``history``,
``diff``, ``metric_history``, ``key_metrics``, ``changelog``, ``lineage_of``, ``impact``.
Names are imported on first use, so that ``modelgit --help`` and the read commands load only
the modules they need.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "BumpResult": "modelgit.api",
    "HistoryEntry": "modelgit.api",
    "ModelSummary": "modelgit.api",
    "VersionInfo": "modelgit.api",
    "bump": "modelgit.api",
    "history": "modelgit.api",
    "list_models": "modelgit.api",
    "show": "modelgit.api",
    "Part": "modelgit.bumping",
    "ChangelogEntry": "modelgit.comparing",
    "VersionMetrics": "modelgit.comparing",
    "changelog": "modelgit.comparing",
    "diff": "modelgit.comparing",
    "key_metrics": "modelgit.comparing",
    "metric_history": "modelgit.comparing",
    "Comparison": "modelgit.comparison",
    "Lineage": "modelgit.provenance",
    "ImpactResult": "modelgit.provenance",
    "lineage_of": "modelgit.provenance",
    "impact": "modelgit.provenance",
    "ModelgitError": "modelgit.errors",
    "InitResult": "modelgit.project",
    "init": "modelgit.project",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'modelgit' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
