"""`card`: a version's card from the registry, with a migration guide on a major bump."""

from __future__ import annotations

from dataclasses import replace

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
    assert text.startswith("<!-- modelgit card -->\n# churn v0.1.0\n")  # the marker -o checks
    assert "| Bump | first version |" in text and "| train.C | 1.0 |" in text
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
    assert (
        page.startswith("<!-- modelgit card -->\n<!doctype html>")
        and "<svg" in page
        and "<script" not in page
    )
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


def test_card_compares_with_the_recorded_previous_version_after_it_was_retired(card_registry):
    modelgit.deprecate(card_registry, "churn", "0.2.0")  # what `gc --apply` does to it
    found = modelgit.card(card_registry, "churn@v1.0.0")
    previous = metadata.parse(tag_message(card_registry, "churn@v0.2.0"))
    assert found.metadata["previous"] == "0.2.0"
    assert found.previous_version == "0.2.0"
    assert {row.name: row.previous for row in found.metrics} == previous["metrics"]
    assert "| Bump | major from 0.2.0 |" in modelgit.card_markdown(found)


def test_card_out_refuses_a_file_it_did_not_write_and_symlinks(card_registry, tmp_path):
    mine = tmp_path / "notes.md"
    mine.write_text("my notes\n")
    target = tmp_path / "card.md"
    target.symlink_to(mine)
    for path in (mine, target):
        result = runner.invoke(
            app, ["card", "churn", "-o", str(path), "--repo", str(card_registry)]
        )
        assert result.exit_code == 2, result.output
        assert len(result.output.strip().splitlines()) == 1
    assert mine.read_text() == "my notes\n"

    target.unlink()
    for flags in ([], ["--html"], []):  # a card modelgit wrote is overwritten, in either format
        result = runner.invoke(
            app, ["card", "churn", *flags, "-o", str(target), "--repo", str(card_registry)]
        )
        assert result.exit_code == 0, result.output
    assert target.read_text().startswith("<!-- modelgit card -->\n# churn v1.0.0")


def test_card_writes_lists_and_mappings_as_text(card_registry):
    found = modelgit.card(card_registry, "churn")
    shown = replace(found, meta={"tags": ["tabular", "churn"], "owner": {"team": "ml", "tier": 1}})
    text = modelgit.card_markdown(shown)
    assert "| tags | tabular, churn |" in text and "| owner | team: ml, tier: 1 |" in text
    page = modelgit.card_html(shown)
    assert (
        "tabular, churn" in page
        and "team: ml, tier: 1" in page
        and "[" not in text.split("## Declared meta")[1]
    )


def test_html_migration_guide_shows_code_spans_as_code(card_registry):
    from modelgit.analysis.migration import Migration, MigrationNote

    found = modelgit.card(card_registry, "churn")
    removed = MigrationNote("input", Migration.REMOVED, "total_<charges>")
    page = modelgit.card_html(replace(found, migration=(removed,)))
    guide = page.split("Migration guide", 1)[1].split("</section>", 1)[0]
    assert "feature <code>total_&lt;charges&gt;</code> was removed: stop sending it" in guide
    assert "`" not in guide
    assert "- feature `total_<charges>` was removed" in modelgit.card_markdown(
        replace(found, migration=(removed,))
    )  # Markdown keeps its code span


def test_card_json_out_writes_the_file_with_the_card_writer_rules(card_registry, tmp_path):
    import json

    out = tmp_path / "card.json"
    args = ["card", "churn", "--json", "-o", str(out), "--repo", str(card_registry)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert result.output == f"wrote {out}\n"  # the JSON went to the file, not to stdout
    written = json.loads(out.read_text())
    assert (written["tag"], written["previous_version"]) == ("churn@v1.0.0", "0.2.0")
    assert runner.invoke(app, args).exit_code == 0  # its own JSON card is replaced
    md = runner.invoke(app, ["card", "churn", "-o", str(out), "--repo", str(card_registry)])
    assert md.exit_code == 0 and out.read_text().startswith("<!-- modelgit card -->")

    mine = tmp_path / "mine.json"
    mine.write_text('{"mine": true}\n')
    link = tmp_path / "link.json"
    link.symlink_to(mine)
    for path in (mine, link):
        refused = runner.invoke(
            app, ["card", "churn", "--json", "-o", str(path), "--repo", str(card_registry)]
        )
        assert refused.exit_code == 2, refused.output
        assert len(refused.output.strip().splitlines()) == 1
    assert mine.read_text() == '{"mine": true}\n'


def test_card_formats_are_exclusive(card_registry, tmp_path):
    for flags in (["--json", "--html"], ["--json", "--md"], ["--md", "--html"]):
        out = tmp_path / "card.out"
        result = runner.invoke(
            app, ["card", "churn", *flags, "-o", str(out), "--repo", str(card_registry)]
        )
        assert result.exit_code == 2, result.output
        assert "choose one of --md, --html and --json" in result.output
        assert not out.exists()


def test_card_and_show_of_an_assignment_tag_name_the_version_it_assigned(card_registry):
    modelgit.promote(card_registry, "churn", "0.2.0", "production")  # production moves on
    modelgit.unassign(card_registry, "churn", "production")
    tags = git(card_registry, "tag", "--list", "churn#*").split()
    first, second = sorted(
        (t for t in tags if t.startswith("churn#production#")), key=lambda t: int(t.split("#")[2])
    )
    assert modelgit.card(card_registry, first).version == "0.1.0"
    assert modelgit.card(card_registry, second).version == "0.2.0"
    assert modelgit.show(card_registry, first).version == "0.1.0"  # `show` reads it the same
    result = runner.invoke(app, ["card", first, "--repo", str(card_registry)])
    assert result.exit_code == 0 and "# churn v0.1.0" in result.output
    unassigned = next(t for t in tags if "!#" in t)
    for reference, says in (
        (unassigned, "is a stage-unassignment tag"),
        ("churn#production#99", "no stage-assignment tag churn#production#99"),
    ):
        for command in ("card", "show"):
            result = runner.invoke(app, [command, reference, "--repo", str(card_registry)])
            assert result.exit_code == 2, result.output
            assert says in result.output and "churn#production" in result.output
            assert len(result.output.strip().splitlines()) == 1
