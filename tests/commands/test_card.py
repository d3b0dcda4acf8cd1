"""`card`: a version's card from the registry, with a migration guide on a major bump."""

from __future__ import annotations

import pytest
from conftest import git, tag_message
from typer.testing import CliRunner

import modelgit
from modelgit.cli.app import app
from modelgit.registry import metadata

runner = CliRunner()


@pytest.fixture
def card_registry(retrained):
    """Three versions: v0.1.0 in production, v0.2.0, and v1.0.0 after a breaking commit."""
    modelgit.promote(retrained, "churn", "0.1.0", "production")
    git(retrained, "commit", "--allow-empty", "-q", "-m", "feat!: scores use the new scaler")
    modelgit.bump(retrained, "major")
    return retrained


def test_card_compares_against_previous_and_production(card_registry):
    found = modelgit.card(card_registry, "churn")
    recorded = metadata.parse(tag_message(card_registry, "churn@v1.0.0"))
    previous = metadata.parse(tag_message(card_registry, "churn@v0.2.0"))
    production = metadata.parse(tag_message(card_registry, "churn@v0.1.0"))
    assert (found.version, found.previous_version, found.production_version) == (
        "1.0.0",
        "0.2.0",
        "0.1.0",
    )
    rows = {row.name: row for row in found.metrics}
    assert set(rows) == set(recorded["metrics"])
    for name, row in rows.items():
        assert (row.value, row.previous, row.production) == (
            recorded["metrics"][name],
            previous["metrics"][name],
            production["metrics"][name],
        )
    assert found.is_major
    assert [c.subject for c in found.breaking_commits] == ["feat!: scores use the new scaler"]
    assert found.migration == ()  # the schema did not change: nothing for a consumer to do


def test_card_markdown_and_html(card_registry, tmp_path):
    text = modelgit.card_markdown(modelgit.card(card_registry, "churn#production"))
    recorded = metadata.parse(tag_message(card_registry, "churn@v0.1.0"))
    assert text.startswith("# churn v0.1.0\n")
    assert "| Stages | production |" in text
    assert recorded["artifact"]["md5"] in text
    assert "```mermaid\nflowchart LR" in text and "stage train" in text
    for item in recorded["data"]:
        assert item["md5"] in text
    assert "Migration guide" not in text  # v0.1.0 is not a major bump

    out = tmp_path / "card.html"
    result = runner.invoke(
        app, ["card", "churn", "--html", "-o", str(out), "--repo", str(card_registry)]
    )
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert page.startswith("<!doctype html>") and "<svg" in page and "<script" not in page
    assert "Migration guide: v0.2.0 → v1.0.0" in page
    assert "feat!: scores use the new scaler" in page


def test_card_of_unknown_version_is_one_line(card_registry):
    result = runner.invoke(app, ["card", "churn@v9.9.9", "--repo", str(card_registry)])
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1


def test_changelog_carries_the_migration_guide_of_a_major_version(card_registry):
    import json

    entries = {e.version: e for e in modelgit.changelog(card_registry, "churn")}
    assert entries["1.0.0"].migration[-1].endswith(": feat!: scores use the new scaler")
    assert entries["0.2.0"].migration == ()
    markdown = runner.invoke(app, ["changelog", "--md", "-C", str(card_registry)]).stdout
    guide = markdown.split("## churn@v1.0.0", 1)[1].split("## churn@v0.2.0", 1)[0]
    assert "### Migration guide" in guide and "feat!: scores use the new scaler" in guide
    as_json = json.loads(
        runner.invoke(app, ["changelog", "--json", "-C", str(card_registry)]).stdout
    )
    assert [e["migration"] != [] for e in as_json] == [True, False, False]  # v1.0.0, v0.2.0, v0.1.0
