"""modelgit: versions of DVC-tracked models as annotated git tags carrying metadata.

The Python API is one function per CLI command, each taking the repository first and returning
a frozen result; nothing prints. Errors are `ModelgitError`s: an `InputError` for a request
that cannot be carried out, a `CheckFailedError` for a check that failed.

    import modelgit
    modelgit.bump(".", "minor")
    modelgit.list(".")

The names match the CLI's commands (`list`, `show`, `history`, `lineage`, `config` ...);
`list_models` and `lineage_of` remain as aliases of `list` and `lineage`.

Names are imported on first use, so that `modelgit --help` and the read commands load only the
modules they need.
"""

from __future__ import annotations

import importlib
from typing import Any

_COMMANDS = {
    "modelgit.commands.init": ("init", "InitResult"),
    "modelgit.commands.bump": ("bump", "BumpRequest", "BumpResult"),
    "modelgit.commands.show": (
        "list_models", "show", "history", "list_versions", "ModelSummary", "KeyMetric",
        "VersionInfo", "HistoryEntry", "VersionRow",
    ),
    "modelgit.commands.config": ("config", "Setting"),
    "modelgit.commands.remote": ("list_remote", "history_remote", "show_remote"),
    "modelgit.commands.get": ("get", "GetResult"),
    "modelgit.commands.gc": ("gc", "GcResult"),
    "modelgit.analysis.retention": ("Retention", "RetentionPlan"),
    "modelgit.commands.compare": (
        "diff", "metric_history", "changelog", "DiffResult", "VersionMetrics", "ChangelogEntry",
    ),
    "modelgit.commands.lineage": ("lineage_of", "impact", "Lineage", "ImpactResult"),
    "modelgit.commands.stages": ("promote", "rollback", "deprecate", "unassign", "StageChange"),
    "modelgit.commands.manifest": ("manifest", "ManifestRequest", "ManifestResult"),
    "modelgit.deploy.manifests": ("Strategy", "CanaryRouter"),
    "modelgit.commands.rollout": ("rollout", "RolloutRequest", "RolloutResult", "RolloutEvent"),
    "modelgit.commands.verify": ("verify", "Verification", "Check"),
    "modelgit.commands.policy": (
        "check_policy", "check_stage_policy", "PolicyReport", "StageTagCheck",
    ),
    "modelgit.commands.scan": ("scan", "ScanResult"),
    "modelgit.commands.publish": ("publish", "PublishResult", "PublishedFile"),
    "modelgit.sources.outputs": ("write_generated",),
    "modelgit.sources.git": ("start_ls_remote_tags",),
    "modelgit.commands.ci": (
        "ci_init", "ci_release", "ci_release_since", "ci_report", "CiInitResult", "CiAuth",
        "ReleaseResult", "ReleaseKind", "ReportResult",
    ),
    "modelgit.commands.card": ("card", "write_card"),
    "modelgit.pages.cards": ("ModelCard",),
    "modelgit.pages.markdown": ("card_markdown",),
    "modelgit.pages.html": ("card_html",),
    "modelgit.commands.site": ("site", "SiteResult"),
    "modelgit.analysis.compare": ("Comparison",),
    "modelgit.registry.versions": ("Level", "Part", "Version"),
    "modelgit.errors": ("ModelgitError", "InputError", "CheckFailedError"),
}  # fmt: skip
# The CLI's command names, for functions whose module name for them says more.
_ALIASES = {
    "list": "list_models",
    "lineage": "lineage_of",
    "prefetch_remote": "start_ls_remote_tags",
}
_EXPORTS = {name: module for module, names in _COMMANDS.items() for name in names}
_EXPORTS.update({alias: _EXPORTS[name] for alias, name in _ALIASES.items()})

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'modelgit' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), _ALIASES.get(name, name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
