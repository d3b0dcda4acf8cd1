"""`list`, `show` and `history`: reading the registry back; GTO interop both ways; hostile tags."""

from __future__ import annotations

import json
import math
import os
import subprocess
import time
from pathlib import Path

import pytest
from conftest import BIN, git

import modelgit
from modelgit.errors import UnknownModelError, UnknownVersionError


def gto(repo: Path, *args: str) -> str:
    proc = subprocess.run(
        [os.path.join(BIN, "gto"), *args], cwd=repo, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return proc.stdout


def next_second() -> None:
    """Sleep until the wall clock's second changes: a tag written now is dated after any before."""
    time.sleep(math.floor(time.time()) + 1 - time.time())


def annotated(repo: Path, tag: str, message: str, rev: str = "HEAD") -> None:
    git(repo, "tag", "-a", "--cleanup=verbatim", "-F", "-", tag, rev, stdin=message)


def test_list_show_history_after_two_bumps(registry):
    [summary] = modelgit.list_models(registry)
    assert (summary.name, summary.latest, summary.stages) == (
        "churn", "0.2.0", {"staging": None, "production": None},
    )  # fmt: skip
    latest = modelgit.show(registry, "churn")
    assert (latest.version, latest.tag, latest.derived, latest.problem) == (
        "0.2.0",
        "churn@v0.2.0",
        False,
        None,
    )
    assert latest.commit == git(registry, "rev-parse", "HEAD").strip()
    assert latest.metadata["params"]["train.C"] == 0.3
    first = modelgit.show(registry, "churn@v0.1.0")
    assert first.metadata["params"]["train.C"] == 1.0
    assert modelgit.show(registry).version == "0.2.0"  # one model: the name is optional
    events = modelgit.history(registry)
    assert [(e.event, e.version) for e in events] == [
        ("registration", "0.2.0"),
        ("registration", "0.1.0"),
    ]


def test_unknown_models_and_versions(registry):
    with pytest.raises(UnknownModelError, match="'nope'"):
        modelgit.show(registry, "nope")
    with pytest.raises(
        UnknownVersionError,
        match=r"no version 9\.9\.9 \(versions: 0\.1\.0, 0\.2\.0\)$",
    ):
        modelgit.show(registry, "churn@v9.9.9")
    with pytest.raises(UnknownVersionError, match="no version of churn is in stage 'production'"):
        modelgit.show(registry, "churn#production")


def test_declared_but_unregistered_models_are_listed(project):
    [summary] = modelgit.list_models(project)
    assert (summary.name, summary.latest, summary.declared) == ("churn", None, True)
    with pytest.raises(UnknownVersionError, match="no versions yet"):
        modelgit.show(project)


def test_gto_reads_what_modelgit_wrote(registry):
    shown = json.loads(gto(registry, "show", "--json"))
    assert shown["churn"]["version"] == "v0.2.0"
    ours = {m.name: m.latest for m in modelgit.list_models(registry)}
    assert ours == {name: entry["version"].lstrip("v") for name, entry in shown.items()}
    gto_versions = {v["version"] for v in json.loads(gto(registry, "show", "churn", "--json"))}
    assert gto_versions == {"v0.1.0", "v0.2.0"}


def test_modelgit_reads_what_gto_wrote(registry):
    # GTO orders stage events by tag date (one-second resolution), so for it to agree with
    # the counter order the events here are in different seconds (GTO writes tags with its own
    # clock, ignoring GIT_COMMITTER_DATE, so this waits for the next second, not a whole one).
    gto(registry, "assign", "churn", "--version", "v0.1.0", "--stage", "production")
    next_second()
    gto(registry, "assign", "churn", "--version", "v0.2.0", "--stage", "staging")
    gto(registry, "assign", "churn", "--version", "v0.2.0", "--stage", "production")
    git(registry, "commit", "--quiet", "--allow-empty", "-m", "empty")
    next_second()
    gto(registry, "register", "churn", "--bump-patch")  # a GTO tag: no metadata YAML
    listed = {m.name: m for m in modelgit.list_models(registry)}
    assert listed["churn"].latest == "0.2.1"
    assert listed["churn"].stages == {"production": "0.2.0", "staging": "0.2.0"}
    shown = json.loads(gto(registry, "show", "--json"))["churn"]
    assert {s: v.lstrip("v") for s, v in shown["stage"].items() if v} == listed["churn"].stages
    events = modelgit.history(registry, "churn")
    assert [(e.event, e.version, e.stage) for e in events[:4]] == [
        ("registration", "0.2.1", None),
        ("assignment", "0.2.0", "production"),
        ("assignment", "0.2.0", "staging"),
        ("assignment", "0.1.0", "production"),
    ]
    derived = modelgit.show(registry, "churn@v0.2.1")
    assert derived.derived and "no metadata" in (derived.problem or "")
    # What the commit's dvc.lock says is still shown for a tag GTO wrote.
    assert (
        derived.metadata["artifact"]["md5"]
        == modelgit.show(registry, "churn@v0.2.0").metadata["artifact"]["md5"]
    )
    assert derived.metadata["params"]["train.C"] == 0.3
    assert modelgit.show(registry, "churn#production").version == "0.2.0"


def test_current_stage_is_decided_by_counter_not_timestamp(registry):
    # Same timestamp on both stage tags: only the counter can decide which is current.
    env = dict(os.environ, GIT_COMMITTER_DATE="2026-01-01T00:00:00Z")
    for tag, rev in (
        ("churn#production#2", "churn@v0.1.0"),
        ("churn#production#1", "churn@v0.2.0"),
    ):
        subprocess.run(
            ["git", "tag", "-a", "-m", "assign", tag, f"{rev}^{{commit}}"],
            cwd=registry,
            env=env,
            check=True,
        )
    [summary] = modelgit.list_models(registry)
    assert summary.stages == {"staging": None, "production": "0.1.0"}
    # An unassignment takes only the version on its commit out of the stage (issue 10, case 2):
    # v0.2.0's assignment still stands, as GTO reads it.
    annotated(registry, "churn#production!#3", "unassign", "churn@v0.1.0^{commit}")
    assert modelgit.list_models(registry)[0].stages == {"staging": None, "production": "0.2.0"}
    annotated(registry, "churn#production!#4", "unassign", "churn@v0.2.0^{commit}")
    assert modelgit.list_models(registry)[0].stages == {"staging": None, "production": None}


def test_deregistered_versions_and_deprecated_models(registry):
    annotated(registry, "churn@v0.2.0!", "Deregistering", "churn@v0.2.0^{commit}")
    [summary] = modelgit.list_models(registry)
    assert summary.latest == "0.1.0"
    # GTO dates a deprecation (it has no counter): one in the same second as the model's latest
    # event does not count, as `gto show` decides; one dated after it does.
    annotated(registry, "churn@deprecated", "Deprecating", "churn@v0.2.0^{commit}")
    latest = git(registry, "for-each-ref", "--format=%(taggerdate:unix)", "refs/tags/churn@v0.2.0!")
    tied = json.loads(gto(registry, "show", "--json", "--deprecated"))["churn"]["active"]
    assert modelgit.list_models(registry)[0].deprecated is (not tied)
    env = dict(os.environ, GIT_COMMITTER_DATE=f"@{int(latest) + 5} +0000")
    subprocess.run(["git", "tag", "-a", "-m", "d", "churn@deprecated#9", "HEAD"], cwd=registry,
                   env=env, check=True)  # fmt: skip
    assert json.loads(gto(registry, "show", "--json", "--deprecated"))["churn"]["active"] is False
    assert modelgit.list_models(registry)[0].deprecated


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        ("Registering artifact churn version v0.3.0", "no metadata"),
        ("s\n\nschema: 1\nmodel: [broken", "does not parse"),
        (
            "s\n\nx: &a [1,1,1,1,1,1,1,1,1]\ny: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nz: [*b,*b,*b]\n",
            "aliases",
        ),
        ("s\n\nx: " + "[" * 100_000 + "]" * 100_000, "does not parse"),
        ("s\n\n" + "k: v\n" * 200_000, "larger than"),
        ("s\n\nschema: 1\nmodel: other\nversion: 0.3.0\n", "another model"),
    ],
)
def test_a_bad_tag_message_is_reported_and_breaks_nothing(registry, message, problem):
    annotated(registry, "churn@v0.3.0", message, "churn@v0.2.0^{commit}")
    annotated(registry, "other@v1.0.0", "s\n\nschema: 1\nmodel: other\nversion: 1.0.0\n")
    started = time.perf_counter()
    listed = {m.name: m.latest for m in modelgit.list_models(registry)}
    assert listed == {"churn": "0.3.0", "other": "1.0.0"}
    bad = modelgit.show(registry, "churn@v0.3.0")
    assert bad.derived and problem in (bad.problem or "")
    assert bad.metadata["artifact"]["path"] == "models/churn.pkl"
    assert modelgit.show(registry, "churn@v0.2.0").problem is None
    assert len(modelgit.history(registry, "churn")) == 3
    assert time.perf_counter() - started < 10


def test_lightweight_and_foreign_tags_are_ignored(registry):
    git(registry, "tag", "churn@v9.0.0")  # lightweight
    git(registry, "tag", "-a", "-m", "release", "v1.0.0")
    git(registry, "tag", "-a", "-m", "x", "Not_A_Model@v1")
    assert [(m.name, m.latest) for m in modelgit.list_models(registry)] == [("churn", "0.2.0")]


def test_list_with_metrics_gives_each_versions_key_metric(registry):
    assert modelgit.list_models(registry)[0].metrics is None
    modelgit.promote(registry, "churn", "0.1.0", "staging")
    [summary] = modelgit.list_models(registry, metrics=True)
    accuracy = {
        version: modelgit.show(registry, f"churn@v{version}").metadata["metrics"]["accuracy"]
        for version in ("0.1.0", "0.2.0")
    }
    assert summary.metrics == {
        "latest": modelgit.KeyMetric("accuracy", accuracy["0.2.0"]),
        "staging": modelgit.KeyMetric("accuracy", accuracy["0.1.0"]),
    }


def test_show_json_keeps_the_pipeline_stages_and_names_assigned_stages(registry):
    from typer.testing import CliRunner

    from modelgit.cli.app import app

    modelgit.promote(registry, "churn", "0.2.0", "staging")
    result = CliRunner().invoke(app, ["show", "churn@v0.2.0", "--json", "-C", str(registry)])
    shown = json.loads(result.stdout)
    assert shown["stages"] == ["prepare", "train"]  # the metadata document, intact
    assert shown["assigned_stages"] == ["staging"] and shown["deprecated"] is False


def test_a_registration_tag_with_a_counter_is_a_reference(registry):
    from typer.testing import CliRunner

    from modelgit.cli.app import app

    annotated(registry, "churn@v0.3.0#4", "Registering", "churn@v0.2.0^{commit}")
    for args in (["show", "churn@v0.3.0#4"], ["show", "churn@v0.3.0#4", "--json"]):
        result = CliRunner().invoke(app, [*args, "-C", str(registry)])
        assert result.exit_code == 0, result.stderr
        assert "churn@v0.3.0#4" in result.stdout
    assert modelgit.show(registry, "churn@v0.3.0#4").version == "0.3.0"


def test_deprecated_versions_stay_readable_with_a_marker(registry):
    from typer.testing import CliRunner

    from modelgit.cli.app import app

    gto(registry, "deprecate", "churn", "v0.1.0")  # GTO writes the deregistration tag
    cli = CliRunner()
    shown = cli.invoke(app, ["show", "churn@v0.1.0", "-C", str(registry)])
    assert shown.exit_code == 0 and shown.stdout.startswith(
        "churn v0.1.0  DEPRECATED\ntag       churn@v0.1.0\n"
    )
    as_json = json.loads(
        cli.invoke(app, ["show", "churn@v0.1.0", "--json", "-C", str(registry)]).stdout
    )
    assert as_json["deprecated"] is True
    diff = cli.invoke(app, ["diff", "churn@v0.1.0", "churn@v0.2.0", "-C", str(registry)])
    assert diff.exit_code == 0 and "DEPRECATED" in diff.stdout
    for command in (["lineage", "churn@v0.1.0"], ["verify", "churn@v0.1.0"]):
        result = cli.invoke(app, [*command, "-C", str(registry)])
        assert result.exit_code == 0, (command, result.stderr)
    history = cli.invoke(app, ["history", "churn", "-C", str(registry)]).stdout
    assert "deregistration" in history and "churn@v0.1.0!" in history
    refused = cli.invoke(app, ["promote", "churn", "0.1.0", "staging", "-C", str(registry)])
    assert refused.exit_code == 2 and "deprecated" in refused.stderr
    manifest = cli.invoke(
        app, ["manifest", "churn@v0.1.0", "--strategy", "kserve", "-C", str(registry)]
    )
    assert manifest.exit_code == 2 and "deprecated" in manifest.stderr
