"""Reading a registry without cloning it: `ls-remote` for list/history, one fetched tag object
(cached by object id) for show."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import jsonschema
import pytest
from conftest import BIN, git

import modelgit
from modelgit.commands.remote import cache_dir, history_remote, list_remote, show_remote


@pytest.fixture
def origin(registry, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    modelgit.promote(registry, "churn", "0.1.0", "production")
    modelgit.promote(registry, "churn", "0.2.0", "staging")
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(registry, "push", "-q", str(bare), "HEAD:refs/heads/main", "--tags")
    return registry, bare.as_uri()


def test_list_and_history_need_no_clone(origin):
    repo, url = origin
    (summary,) = list_remote(url)
    (local,) = modelgit.list_models(repo)
    assert (local.declared, summary.declared) == (True, None)  # no dvc.yaml is read remotely
    assert (summary.name, summary.latest, summary.stages) == (
        local.name,
        local.latest,
        local.stages,
    )
    remote_history = [e.tag for e in history_remote(url, "churn")]
    assert set(remote_history) == {e.tag for e in modelgit.history(repo, "churn")}
    assert remote_history == [  # by counter; a registration just below its version's first
        "churn#staging#2", "churn@v0.2.0", "churn#production#1", "churn@v0.1.0",
    ]  # fmt: skip
    assert not cache_dir().exists()  # nothing was fetched


def test_show_fetches_one_tag_object_once(origin):
    repo, url = origin
    shown = show_remote(url, "churn#production")
    assert shown.tag == "churn@v0.1.0"
    assert shown.metadata == modelgit.show(repo, "churn@v0.1.0").metadata
    oid = git(repo, "rev-parse", "refs/tags/churn@v0.1.0").strip()
    assert git(cache_dir(), "cat-file", "-t", oid).strip() == "tag"
    assert git(cache_dir(), "for-each-ref", "--format=%(refname)").split() == [
        f"refs/modelgit/{oid}"
    ]
    assert show_remote(url, "churn@v0.1.0").metadata == shown.metadata  # from the cache


def test_a_deprecated_model_reads_deprecated_without_dates(origin):
    repo, url = origin
    modelgit.deprecate(repo, "churn", message="replaced", force=True)
    git(repo, "push", "-q", url, "--tags")
    ((local,), (remote,)) = modelgit.list_models(repo), list_remote(url)
    assert local.deprecated and remote.deprecated


def test_concurrent_shows_share_the_tag_cache(origin):
    _repo, url = origin
    script = os.path.join(BIN, "modelgit")
    references = ["churn@v0.1.0", "churn@v0.2.0", "churn#production", "churn#staging"] * 2
    runs = [
        subprocess.Popen([script, "show", ref, "--remote", url, "--json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for ref in references
    ]  # fmt: skip
    outcomes = [(run.wait(), *run.communicate()) for run in runs]
    assert [(code, err) for code, _out, err in outcomes] == [(0, "")] * len(references)
    tags = [json.loads(out)["tag"] for _code, out, _err in outcomes]
    assert tags == ["churn@v0.1.0", "churn@v0.2.0", "churn@v0.1.0", "churn@v0.2.0"] * 2


def test_an_unusable_tag_cache_is_one_line(origin, tmp_path, monkeypatch):
    _repo, url = origin
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(not_a_folder))
    with pytest.raises(modelgit.InputError) as caught:
        show_remote(url, "churn@v0.1.0")
    assert str(caught.value).startswith(f"cannot keep fetched tags in {not_a_folder}")


def test_show_reads_tags_gto_wrote_and_ranks_the_key_metric(origin):
    repo, url = origin
    gto = os.path.join(BIN, "gto")
    subprocess.run([gto, "register", "legacy", "--version", "v1.0.0"], cwd=repo, check=True,
                   capture_output=True)  # fmt: skip
    git(repo, "push", "-q", url, "--tags")
    legacy = show_remote(url, "legacy")
    assert (legacy.version, legacy.metadata, legacy.derived) == ("1.0.0", {}, False)
    assert "no metadata" in (legacy.problem or "") and "no clone" in (legacy.problem or "")
    script = os.path.join(BIN, "modelgit")
    shown = subprocess.run([script, "show", "legacy", "--remote", url], capture_output=True,
                           text=True)  # fmt: skip
    assert shown.returncode == 0 and shown.stdout.startswith("legacy v1.0.0")
    as_json = subprocess.run([script, "show", "legacy", "--remote", url, "--json"],
                             capture_output=True, text=True, check=True)  # fmt: skip
    schema = json.loads(
        (Path(modelgit.__file__).parent / "cli/schemas/show.schema.json").read_text()
    )
    jsonschema.validate(json.loads(as_json.stdout), schema, cls=jsonschema.Draft202012Validator)
    assert shown.stderr.count("\n") == 1 and "showing what the tag says" in shown.stderr
    assert (
        show_remote(url, "churn@v0.2.0").key_metric
        == modelgit.show(repo, "churn@v0.2.0").key_metric
        == "accuracy"
    )


def test_a_remote_without_the_model_meant_says_what_it_registers(origin, tmp_path):
    repo, url = origin
    empty = tmp_path / "empty.git"
    git(tmp_path, "init", "-q", "--bare", str(empty))
    with pytest.raises(modelgit.InputError, match="no model is registered there"):
        show_remote(empty.as_uri())
    subprocess.run([os.path.join(BIN, "gto"), "register", "legacy", "--version", "v1.0.0"],
                   cwd=repo, check=True, capture_output=True)  # fmt: skip
    git(repo, "push", "-q", url, "--tags")
    with pytest.raises(modelgit.InputError, match=r"registers several models \(churn, legacy\)"):
        history_remote(url)
    # Every built-in stage has its column, held or not, as a local `list` gives them.
    stages = {m.name: m.stages for m in list_remote(url)}
    assert stages["legacy"] == {"staging": None, "production": None}
    assert list(stages["churn"]) == ["staging", "production"]


def test_show_takes_a_relative_path_or_a_remote_name_as_list_does(origin, monkeypatch):
    repo, url = origin
    bare = Path(url.removeprefix("file://"))
    monkeypatch.chdir(bare.parent)  # the fetch itself runs in the cache, elsewhere
    assert show_remote(bare.name, "churn@v0.1.0").tag == "churn@v0.1.0"
    git(repo, "remote", "add", "origin", str(bare))
    monkeypatch.chdir(repo)
    assert [m.name for m in list_remote("origin")] == ["churn"]
    assert show_remote("origin", "churn#staging").tag == "churn@v0.2.0"  # not cached yet


def test_an_unreachable_remote_is_one_line(tmp_path):
    with pytest.raises(modelgit.InputError) as caught:
        list_remote((tmp_path / "nothing.git").as_uri())
    assert "\n" not in str(caught.value) and "cannot read tags" in str(caught.value)


def test_the_command_line_reads_a_remote(origin):
    import json

    from typer.testing import CliRunner

    from modelgit.cli.app import app

    _repo, url = origin
    runner = CliRunner()
    listed = runner.invoke(app, ["list", "--remote", url, "--json"])
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout)[0]["stages"]["production"] == "0.1.0"
    shown = runner.invoke(app, ["show", "churn#staging", "--remote", url, "--json"])
    assert shown.exit_code == 0 and json.loads(shown.stdout)["tag"] == "churn@v0.2.0"
    wrong = runner.invoke(app, ["list", "churn", "--remote", url])
    assert wrong.exit_code == 2
    # A command's own -C is `modelgit -C`: a relative URL is taken from there.
    bare = Path(url.removeprefix("file://"))
    here = runner.invoke(app, ["list", "-C", str(bare.parent), "--remote", bare.name, "--json"])
    assert here.exit_code == 0, here.output
    assert json.loads(here.stdout)[0]["name"] == "churn"
    nowhere = runner.invoke(app, ["list", "-C", str(bare / "nowhere"), "--remote", url])
    assert nowhere.exit_code == 2 and nowhere.stderr.startswith("error: cannot change to ")


def test_remote_history_is_in_counter_order_as_local_history_is(retrained, tmp_path, monkeypatch):
    moments = iter(range(1_900_000_000, 2_000_000_000, 3600))  # an hour apart, after the fixture

    def then(step):
        monkeypatch.setenv("GIT_COMMITTER_DATE", f"@{next(moments)} +0000")
        return step()

    repo = retrained  # v0.1.0 and v0.2.0 registered
    then(lambda: modelgit.promote(repo, "churn", "0.1.0", "staging"))  # 1
    then(lambda: modelgit.promote(repo, "churn", "0.1.0", "production"))  # 2
    then(lambda: modelgit.promote(repo, "churn", "0.2.0", "staging"))  # 3
    then(lambda: modelgit.bump(repo, "minor"))  # v0.3.0
    then(lambda: modelgit.promote(repo, "churn", "0.3.0", "staging"))  # 4
    then(lambda: modelgit.promote(repo, "churn", "0.2.0", "production"))  # 5
    then(lambda: modelgit.promote(repo, "churn", "0.3.0", "production"))  # 6
    then(lambda: modelgit.rollback(repo, "churn#production"))  # 7: back to v0.2.0
    then(lambda: modelgit.deprecate(repo, "churn@v0.1.0"))  # deregistration, no counter
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(repo, "push", "-q", str(bare), "HEAD:refs/heads/main", "--tags")

    local = modelgit.history(repo, "churn")
    remote = history_remote(bare.as_uri(), "churn")

    assert [e.tag for e in local] == [
        "churn@v0.1.0!", "churn#production#7", "churn#production#6", "churn#production#5",
        "churn#staging#4", "churn@v0.3.0", "churn#staging#3", "churn#production#2",
        "churn#staging#1", "churn@v0.2.0", "churn@v0.1.0",
    ]  # fmt: skip
    # Without dates, a registration goes just below its version's first stage event: v0.2.0,
    # registered before v0.1.0's promotions, is the one event placed otherwise than locally.
    assert [e.tag for e in remote] == [
        "churn@v0.1.0!", "churn#production#7", "churn#production#6", "churn#production#5",
        "churn#staging#4", "churn@v0.3.0", "churn#staging#3", "churn@v0.2.0",
        "churn#production#2", "churn#staging#1", "churn@v0.1.0",
    ]  # fmt: skip
    assert [e.deprecated for e in remote] == [e.deprecated for e in local]
    assert [e.tag for e in remote if e.deprecated] == ["churn@v0.1.0"]
    assert {e.created_at for e in remote} == {None}  # ls-remote carries no dates
