"""`site`: the registry as static pages, rebuilt only where something changed, never over
files modelgit did not write."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from conftest import BIN, git, tag_message
from typer.testing import CliRunner

import modelgit
from modelgit.cli.app import app
from modelgit.registry import metadata

runner = CliRunner()


def test_pages_show_the_registry_and_rebuilds_write_only_changes(registry, tmp_path):
    out = tmp_path / "site"
    modelgit.promote(registry, "churn", "0.1.0", "production")
    first = modelgit.site(registry, out)
    assert (first.models, first.versions) == (1, 2)
    assert len(first.written) == first.pages == 6  # style, index, model, lineage, 2 versions
    index = (out / "index.html").read_text()
    assert 'href="models/churn/v0.2.0.html">v0.2.0</a>' in index  # latest
    assert 'href="models/churn/v0.1.0.html">v0.1.0</a>' in index  # production
    assert "<p>1 model, 2 versions.</p>" in index
    page = (out / "models/churn/v0.2.0.html").read_text()
    recorded = metadata.parse(tag_message(registry, "churn@v0.2.0"))
    assert "Diff against v0.1.0" in page and "train.C" in page
    assert str(recorded["metrics"]["accuracy"]) in page
    assert "<script" not in index + page and "http" not in re.sub(r"xmlns=\"[^\"]+\"", "", page)

    again = modelgit.site(registry, out)
    assert again.written == ()

    modelgit.promote(registry, "churn", "0.2.0", "production")
    moved = modelgit.site(registry, out)
    assert "index.html" in moved.written and "style.css" not in moved.written


def test_refuses_a_folder_it_did_not_write(registry, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    result = runner.invoke(app, ["site", "-o", str(out), "--repo", str(registry)])
    assert result.exit_code == 2
    assert "did not write" in result.output and len(result.output.strip().splitlines()) == 1
    assert (out / "notes.txt").read_text() == "mine"


def test_never_writes_through_a_symlink(registry, tmp_path):
    out = tmp_path / "site"
    modelgit.site(registry, out)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "models").rename(tmp_path / "old-models")
    (out / "models").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(modelgit.InputError, match="symlink"):
        modelgit.site(registry, out)
    assert list(elsewhere.iterdir()) == []


def test_document_cache_is_only_a_shortcut(registry, tmp_path):
    first = modelgit.site(registry, tmp_path / "a")
    caches = list((registry / ".git" / "modelgit" / "documents-v2").glob("*.json"))
    assert caches  # one file per model
    for cache in caches:
        cache.write_text("{not json")
    second = modelgit.site(registry, tmp_path / "b")
    assert second.pages == first.pages
    for page in first.written:
        assert (tmp_path / "a" / page).read_bytes() == (tmp_path / "b" / page).read_bytes()


def test_a_page_edited_on_disk_is_rendered_again(registry, tmp_path):
    out = tmp_path / "site"
    modelgit.site(registry, out)
    page = out / "models/churn/v0.1.0.html"
    built = page.read_bytes()
    page.write_text("edited by hand")
    rebuilt = modelgit.site(registry, out)
    assert rebuilt.written == ("models/churn/v0.1.0.html",)
    assert page.read_bytes() == built
    page.touch()  # same bytes, new mtime: checked, found current, not written
    assert modelgit.site(registry, out).written == ()


def test_a_refused_build_writes_nothing(registry, tmp_path):
    out = tmp_path / "site"
    modelgit.site(registry, out)
    modelgit.promote(registry, "churn", "0.1.0", "production")  # the index would change
    (out / "models").rename(tmp_path / "old-models")
    (out / "models").symlink_to(tmp_path / "old-models", target_is_directory=True)
    places = (out, tmp_path / "old-models")
    before = {p: p.read_bytes() for place in places for p in place.rglob("*") if p.is_file()}
    result = runner.invoke(app, ["site", "-o", str(out), "--repo", str(registry)])
    assert result.exit_code == 2, result.output
    assert "symlink" in result.output and len(result.output.strip().splitlines()) == 1
    assert {
        p: p.read_bytes() for place in places for p in place.rglob("*") if p.is_file()
    } == before


def test_an_output_path_that_cannot_be_a_folder_is_one_line(registry, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("mine")
    result = runner.invoke(app, ["site", "-o", str(blocker / "x"), "--repo", str(registry)])
    assert result.exit_code == 2, result.output
    assert "cannot write" in result.output and len(result.output.strip().splitlines()) == 1
    assert blocker.read_text() == "mine"


BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_a_pool_build_is_byte_identical_to_one_process(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    from generate_registry import generate

    repo = tmp_path / "registry"
    generate(repo, models=5, versions=8, stage_tags=4)
    alone = modelgit.site(repo, tmp_path / "alone", jobs=1)
    pooled = modelgit.site(repo, tmp_path / "pooled", jobs=3)
    assert (alone.processes, pooled.processes) == (1, 3)
    assert alone.pages == pooled.pages == 2 + 5 * (2 + 8)
    assert alone.written == pooled.written  # the same pages, in the same order

    def files(root: Path) -> dict[str, bytes]:
        return {
            str(p.relative_to(root)): p.read_bytes()
            for p in root.rglob("*")
            if p.is_file() and p.name != ".modelgit-site.json"
        }

    assert files(tmp_path / "alone") == files(tmp_path / "pooled")
    manifests = [
        json.loads((tmp_path / folder / ".modelgit-site.json").read_text())
        for folder in ("alone", "pooled")
    ]
    for section in ("pages", "keys"):
        assert manifests[0][section] == manifests[1][section]
    # Either kind of build takes up the other's output: nothing to write again.
    assert modelgit.site(repo, tmp_path / "alone", jobs=2).written == ()
    assert modelgit.site(repo, tmp_path / "pooled", jobs=1).written == ()


def test_a_small_registry_is_built_in_one_process(registry, tmp_path):
    assert modelgit.site(registry, tmp_path / "site").processes == 1


def test_a_deregistered_version_keeps_its_page_and_the_tags_are_remembered(registry, tmp_path):
    out = tmp_path / "site"
    modelgit.site(registry, out)
    modelgit.deprecate(registry, "churn", "0.1.0")
    again = modelgit.site(registry, out)
    assert (again.versions, again.deprecated, again.removed) == (2, 1, ())
    assert "is deprecated" in (out / "models/churn/v0.1.0.html").read_text()
    assert "Diff against v0.1.0" in (out / "models/churn/v0.2.0.html").read_text()
    # The build read every tag object; `list` and the next build find them in the cache.
    cached = json.loads((registry / ".git/modelgit/tag-objects-v1.json").read_text())
    objects = git(registry, "for-each-ref", "--format=%(objectname)", "refs/tags").split()
    assert set(objects) <= set(cached)


def test_output_paths_that_are_symlinks_or_empty_are_refused_by_name(registry, tmp_path):
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "missing", target_is_directory=True)
    folder = tmp_path / "folder"
    folder.mkdir()
    linked = tmp_path / "linked"
    linked.symlink_to(folder, target_is_directory=True)
    for out, says in (
        (str(dangling), f"{dangling} is a symlink"),
        (str(linked), f"{linked} is a symlink"),
        ("", "output folder is empty"),
    ):
        result = runner.invoke(app, ["site", "-o", out, "--repo", str(registry)])
        assert result.exit_code == 2, result.output
        assert says in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "missing").exists() and list(folder.iterdir()) == []
    assert not (registry / "index.html").exists()  # '' was not taken for '.'


@pytest.fixture
def major_registry(retrained):
    """v0.1.0 (production), v0.2.0, and v1.0.0 after a breaking commit (as test_card's)."""
    modelgit.promote(retrained, "churn", "0.1.0", "production")
    git(retrained, "commit", "--allow-empty", "-q", "-m", "feat!: scores use the new scaler")
    modelgit.bump(retrained, "major")
    return retrained


def gto(repo: Path, *args: str) -> None:
    proc = subprocess.run(
        [os.path.join(BIN, "gto"), *args], cwd=repo, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout


def test_a_version_page_compares_with_its_recorded_previous_version_once_retired(
    major_registry, tmp_path
):
    gto(major_registry, "deprecate", "churn", "v0.2.0")  # GTO's deregistration tag
    out = tmp_path / "site"
    for retire_all in (False, True):
        if retire_all:
            modelgit.deprecate(major_registry, "churn", "0.1.0", force=True)  # every earlier one
        modelgit.site(major_registry, out)
        page = (out / "models/churn/v1.0.0.html").read_text()
        found = modelgit.card(major_registry, "churn@v1.0.0")
        assert found.previous_version == "0.2.0"
        assert "| Bump | major from 0.2.0 |" in modelgit.card_markdown(found)
        assert '<th scope="row">Bump</th><td>major from 0.2.0</td>' in page
        assert "Migration guide: v0.2.0 → v1.0.0" in page
        assert "feat!: scores use the new scaler" in page  # the breaking commit, as `card` has it
        assert "Diff against v0.2.0" in page and "first version" not in page
        previous = metadata.parse(tag_message(major_registry, "churn@v0.2.0"))["metrics"]
        assert {row.name: row.previous for row in found.metrics} == previous
        accuracy = f"<td>{previous['accuracy']}</td>"  # the previous column of the metrics table
        assert accuracy in page.split("<caption>Metrics", 1)[1].split("</table>", 1)[0]


def test_deprecated_versions_keep_their_marked_rows_and_pages(registry, tmp_path):
    out = tmp_path / "site"
    modelgit.site(registry, out)
    published = (out / "models/churn/v0.1.0.html").read_text()
    modelgit.deprecate(registry, "churn", "0.1.0", message="trained on leaked test rows")
    rebuilt = modelgit.site(registry, out)
    assert rebuilt.removed == () and (rebuilt.versions, rebuilt.deprecated) == (2, 1)
    assert "models/churn/v0.1.0.html" in rebuilt.written  # the same page, now with its notice
    page = (out / "models/churn/v0.1.0.html").read_text()
    assert page != published
    assert (
        '<p class="deprecated" role="note"><strong>DEPRECATED</strong>: '
        "churn v0.1.0 is deprecated: trained on leaked test rows</p>"
    ) in page
    model = (out / "models/churn/index.html").read_text()
    versions = model.split("<caption>Versions, newest first", 1)[1].split("</table>", 1)[0]
    assert re.search(
        r'<a href="v0.1.0.html">v0.1.0</a> <strong class="deprecated">DEPRECATED</strong>: '
        r"trained on leaked test rows</td>",
        versions,
    )
    assert '<a href="v0.2.0.html">v0.2.0</a></td>' in versions  # an active one is not marked
    timeline = model.split("<caption>Registry events", 1)[1].split("</table>", 1)[0]
    rows = {
        re.search(r"<code>([^<]+)</code>", row).group(1): row
        for row in timeline.split("<tr>")[1:]
        if "<code>" in row
    }
    assert '<strong class="deprecated">deregistration</strong>' in rows["churn@v0.1.0!"]
    assert 'v0.1.0 <strong class="deprecated">DEPRECATED</strong>' in rows["churn@v0.1.0"]
    assert "DEPRECATED" not in rows["churn@v0.2.0"]
    index = (out / "index.html").read_text()
    assert "<p>1 model, 2 versions (1 deprecated).</p>" in index
    assert 'href="models/churn/v0.2.0.html">v0.2.0</a>' in index  # latest is the active one
    said = runner.invoke(app, ["site", "-o", str(out), "--repo", str(registry)]).output
    assert "1 model, 2 versions (1 deprecated); 0 of 6 pages written" in said  # nothing new


def test_a_deregistration_without_a_reason_says_only_that(registry, tmp_path):
    gto(registry, "deprecate", "churn", "v0.1.0")  # GTO's default message is no reason
    modelgit.site(registry, tmp_path / "site")
    page = (tmp_path / "site/models/churn/v0.1.0.html").read_text()
    assert "<strong>DEPRECATED</strong>: churn v0.1.0 is deprecated</p>" in page
    card = modelgit.card_markdown(modelgit.card(registry, "churn@v0.1.0"))
    assert "> **DEPRECATED**: churn v0.1.0 is deprecated\n" in card
    modelgit.deprecate(registry, "churn", force=True)  # the whole model: `churn@deprecated`
    modelgit.site(registry, tmp_path / "site")
    model = (tmp_path / "site/models/churn/index.html").read_text()
    assert re.search(
        r'<code>churn@deprecated</code></td><td><strong class="deprecated">deprecation</strong>',
        model,
    )
    assert re.search(
        r'<code>churn@v0.1.0!</code></td><td><strong class="deprecated">deregistration</strong>',
        model,
    )
