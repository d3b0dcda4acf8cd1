"""promote, rollback, deprecate: new tags only, counter order, GTO agreement."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest
from conftest import BIN, git, tag_message
from typer.testing import CliRunner

import modelgit
from modelgit.cli.app import app
from modelgit.errors import InvalidNameError, PromotionError, UnknownVersionError

runner = CliRunner()


def tags(repo):
    return set(git(repo, "tag", "--list").split())


def gto_stages(repo):
    out = subprocess.run([os.path.join(BIN, "gto"), "show", "--json"], cwd=repo,
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    return {s: v.lstrip("v") for s, v in json.loads(out)["churn"]["stage"].items() if v}


@pytest.mark.slow
def test_promote_rollback_agree_with_gto_and_delete_nothing(registry, monkeypatch):
    # GTO decides by tag dates (one-second resolution): each stage tag gets its own second,
    # after the version tags, as it would a second apart in real time.
    now = int(time.time())

    def tag_date(offset: int) -> None:
        monkeypatch.setenv("GIT_COMMITTER_DATE", f"{now + offset} +0000")

    before = tags(registry)
    tag_date(10)
    first = modelgit.promote(registry, "churn", "0.1.0", "production")
    assert (first.tag, first.previous) == ("churn#production#1", None)
    tag_date(20)
    modelgit.promote(registry, "churn", "v0.2.0", "production", message="better recall")
    [model] = modelgit.list_models(registry)
    assert model.stages == {"staging": None, "production": "0.2.0"}
    assert gto_stages(registry) == {"production": "0.2.0"}
    tag_date(30)
    back = modelgit.rollback(registry, "churn", message="latency regression")
    assert (back.tag, back.version, back.previous) == ("churn#production#3", "0.1.0", "0.2.0")
    assert modelgit.list_models(registry)[0].stages == {
        "staging": None,
        "production": "0.1.0",
    } and gto_stages(registry) == {"production": "0.1.0"}
    assert before < tags(registry)  # only additions
    message = tag_message(registry, "churn#production#3")
    assert "reason: latency regression" in message and "action: rollback" in message
    history = modelgit.history(registry)
    assert [(e.event, e.version, e.stage) for e in history[:3]] == [
        ("assignment", "0.1.0", "production"),
        ("assignment", "0.2.0", "production"),
        ("assignment", "0.1.0", "production"),
    ]


def test_rollback_skips_the_current_version_and_honours_to(registry):
    for version in ("0.1.0", "0.2.0", "0.1.0", "0.2.0"):
        modelgit.promote(registry, "churn", version, "production")
    assert modelgit.rollback(registry, "churn").version == "0.1.0"
    with pytest.raises(PromotionError, match=r"v0\.1\.0 is already in production"):
        modelgit.rollback(registry, "churn", to="0.1.0")
    assert modelgit.rollback(registry, "churn", to="v0.2.0").version == "0.2.0"


def test_rollback_with_no_earlier_version_refuses(registry):
    with pytest.raises(PromotionError, match="no earlier version in production to roll back to"):
        modelgit.rollback(registry, "churn")
    modelgit.promote(registry, "churn", "0.2.0", "production")
    result = runner.invoke(app, ["rollback", "churn", "-C", str(registry)])
    assert result.exit_code == 2
    assert result.stderr == (
        "error: churn has no earlier version in production to roll back to (it holds v0.2.0)\n"
    )


def test_promoting_the_current_version_does_nothing(registry):
    modelgit.promote(registry, "churn", "0.2.0", "staging")
    count = len(tags(registry))
    again = runner.invoke(app, ["promote", "churn", "0.2.0", "staging", "-C", str(registry)])
    assert again.exit_code == 0 and again.stdout == "v0.2.0 is already in staging; nothing to do\n"
    assert len(tags(registry)) == count


def test_stages_are_configurable_with_a_promotion_order(registry):
    (registry / ".modelgit.yaml").write_text(
        "stages: [dev, staging, production]\npromotion_order: [staging, production]\n"
    )
    with pytest.raises(InvalidNameError, match="unknown stage 'qa'; stages: dev, staging"):
        modelgit.promote(registry, "churn", "0.2.0", "qa")
    with pytest.raises(PromotionError, match=r"v0\.2\.0 has not been in staging"):
        modelgit.promote(registry, "churn", "0.2.0", "production")
    forced = modelgit.promote(registry, "churn", "0.2.0", "production", "hotfix", force=True)
    message = tag_message(registry, forced.tag)
    assert "forced: 'skipped staging: hotfix'" in message
    modelgit.promote(registry, "churn", "0.1.0", "staging")
    assert modelgit.promote(registry, "churn", "0.1.0", "production").tag is not None
    modelgit.promote(registry, "churn", "0.1.0", "dev")  # outside the order: no rule


def test_deprecation_hides_versions_and_refuses_promotion(registry):
    modelgit.promote(registry, "churn", "0.1.0", "production")
    with pytest.raises(PromotionError, match=r"v0\.1\.0 is in production"):
        modelgit.deprecate(registry, "churn", "0.1.0")
    dropped = modelgit.deprecate(registry, "churn", "0.2.0", "leaks a feature")
    assert dropped.tag == "churn@v0.2.0!"
    assert modelgit.list_models(registry)[0].latest == "0.1.0"
    with pytest.raises(UnknownVersionError, match=r"churn v0\.2\.0 is deprecated"):
        modelgit.promote(registry, "churn", "0.2.0", "staging")
    shown = modelgit.show(registry, "churn@v0.2.0")  # deprecated versions stay readable
    assert shown.deprecated and shown.metadata["version"] == "0.2.0"
    refused = runner.invoke(app, ["deprecate", "churn", "-C", str(registry)])
    assert refused.exit_code == 2 and "production holds v0.1.0" in refused.stderr
    whole = runner.invoke(app, ["deprecate", "churn", "--force", "-C", str(registry)])
    assert whole.exit_code == 0 and whole.stdout.startswith("created churn@deprecated\n")
    assert modelgit.list_models(registry)[0].deprecated
    with pytest.raises(PromotionError, match="churn is deprecated"):
        modelgit.promote(registry, "churn", "0.1.0", "staging")
    assert "churn@v0.2.0" in tags(registry)  # the version tag itself is never removed


def test_bad_input_exits_2_with_one_line(registry):
    for args, message in (
        (["promote", "churn", "9.9.9", "production"], "error: churn has no version 9.9.9"),
        (["promote", "churn", "0.2.0", "Prod"], "error: stage 'Prod' must be lowercase"),
        (["promote", "nope", "0.2.0", "production"], "error: unknown model 'nope'"),
        (["rollback", "churn", "--to", "banana"], "error: 'banana' is not a semantic version"),
    ):
        result = runner.invoke(app, [*args, "-C", str(registry)])
        assert result.exit_code == 2, args
        assert result.stderr.startswith(message) and result.stderr.count("\n") == 1
