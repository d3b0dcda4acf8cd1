"""The README's Python API section: it lists every command function, and its example runs."""

from __future__ import annotations

import re
from pathlib import Path

import modelgit

README = Path(__file__).resolve().parent.parent / "README.md"
COMMAND_FUNCTIONS = (
    "init", "bump", "list", "list_versions", "show", "history", "metric_history", "diff",
    "changelog", "lineage", "impact", "promote", "rollback", "deprecate", "manifest", "rollout",
    "verify", "scan", "config", "publish", "ci_init", "ci_release", "ci_release_since",
    "ci_report",
)  # fmt: skip
# The names the API had before it matched the CLI's: still there, as aliases.
ALIASES = {"list_models": "list", "lineage_of": "lineage"}


def _api_section() -> str:
    text = README.read_text()
    start = text.index("## Python API")
    return text[start : text.index("\n## ", start + 1)]


def test_every_command_function_is_exported_and_listed():
    section = _api_section()
    for name in COMMAND_FUNCTIONS:
        assert callable(getattr(modelgit, name)), name
        assert re.search(rf"`{name}\(", section), f"README's Python API lacks {name}"
    for alias, name in ALIASES.items():
        assert getattr(modelgit, alias) is getattr(modelgit, name)


def test_the_registry_example_runs_as_written(registry, capsys):
    blocks = re.findall(r"```python\n(.*?)```", _api_section(), re.S)
    example = next(block for block in blocks if "list_models(repo" in block)
    exec(compile(example, "README.md", "exec"), {"repo": str(registry)})
    printed = capsys.readouterr().out
    assert "churn 0.2.0 {'staging': None, 'production': None} accuracy" in printed
    tags = {event.tag for event in modelgit.history(registry, "churn")}
    assert {"churn#staging#1", "churn#staging#2", "churn#staging#3", "churn@v0.1.0!"} <= tags
