"""`site`: the registry as static pages, rebuilt only where something changed, never over
files modelgit did not write."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import git, tag_message
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


def test_a_deregistered_version_loses_its_page_and_the_tags_are_remembered(registry, tmp_path):
    out = tmp_path / "site"
    modelgit.site(registry, out)
    modelgit.deprecate(registry, "churn", "0.1.0")
    again = modelgit.site(registry, out)
    assert again.versions == 1 and again.removed == ("models/churn/v0.1.0.html",)
    assert not (out / "models/churn/v0.1.0.html").exists()
    assert "Diff against nothing" in (out / "models/churn/v0.2.0.html").read_text()
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
