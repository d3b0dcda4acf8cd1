"""modelgit: versions of DVC-tracked models as annotated git tags carrying metadata.

The Python API mirrors the CLI: ``bump``, ``list_models``, ``show``, ``history``, ``init``.
"""

from modelgit.api import (
    BumpResult,
    HistoryEntry,
    ModelSummary,
    Part,
    VersionInfo,
    bump,
    history,
    list_models,
    show,
)
from modelgit.errors import ModelgitError
from modelgit.project import InitResult, init

__all__ = [
    "BumpResult",
    "HistoryEntry",
    "InitResult",
    "ModelSummary",
    "ModelgitError",
    "Part",
    "VersionInfo",
    "bump",
    "history",
    "init",
    "list_models",
    "show",
]
