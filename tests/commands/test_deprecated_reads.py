"""A deprecated (deregistered) version stays readable history, marked DEPRECATED wherever it is
read: lineage, verify, history, changelog and history --metrics, in text and in JSON."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import modelgit
from modelgit.cli.app import app

runner = CliRunner()


@pytest.fixture
def deprecated(registry):
    modelgit.deprecate(registry, "churn", "0.1.0")
    return registry


def run(repo, *args: str, code: int = 0) -> str:
    result = runner.invoke(app, [*args, "-C", str(repo)])
    assert result.exit_code == code, result.output
    return result.stdout


def test_lineage_marks_a_deprecated_version(deprecated):
    assert "model churn@v0.1.0 DEPRECATED" in run(deprecated, "lineage", "churn@v0.1.0")
    assert "DEPRECATED" in run(deprecated, "lineage", "churn@v0.1.0", "--format", "mermaid")
    old = json.loads(run(deprecated, "lineage", "churn@v0.1.0", "--format", "json"))
    new = json.loads(run(deprecated, "lineage", "churn@v0.2.0", "--format", "json"))
    assert old["deprecated"] is True and new["deprecated"] is False
    assert "DEPRECATED" not in run(deprecated, "lineage", "churn@v0.2.0")


def test_verify_marks_and_includes_deprecated_versions(deprecated):
    assert "churn@v0.1.0 DEPRECATED: verified" in run(deprecated, "verify", "churn@v0.1.0")
    [one] = json.loads(run(deprecated, "verify", "churn@v0.1.0", "--json"))
    assert one["deprecated"] is True and one["verdict"] == "verified"
    every = json.loads(run(deprecated, "verify", "churn", "--all", "--json"))
    assert [(v["version"], v["deprecated"]) for v in every] == [
        ("0.1.0", True),
        ("0.2.0", False),
    ]
    text = run(deprecated, "verify", "churn", "--all")
    assert "churn@v0.1.0 DEPRECATED: verified" in text and "churn@v0.2.0: verified" in text


def test_history_and_changelog_keep_deprecated_versions_marked(deprecated):
    rows = json.loads(run(deprecated, "history", "churn", "--json"))
    registrations = {r["version"]: r["deprecated"] for r in rows if r["event"] == "registration"}
    assert registrations == {"0.1.0": True, "0.2.0": False}
    history = run(deprecated, "history", "churn")
    assert "v0.1.0 DEPRECATED" in history and "v0.2.0 DEPRECATED" not in history
    log = json.loads(run(deprecated, "changelog", "churn", "--json"))
    assert [(e["version"], e["deprecated"]) for e in log] == [("0.2.0", False), ("0.1.0", True)]
    assert "churn@v0.1.0 DEPRECATED" in run(deprecated, "changelog", "churn")
    metrics = json.loads(run(deprecated, "history", "churn", "--metrics", "--json"))
    assert [(m["version"], m["deprecated"]) for m in metrics] == [
        ("0.2.0", False),
        ("0.1.0", True),
    ]
    assert "v0.1.0 DEPRECATED" in run(deprecated, "history", "churn", "--metrics")
