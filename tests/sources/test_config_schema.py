"""`.modelgit.yaml` is checked against its schema: wrong types and unknown keys are exit 2."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import modelgit
from modelgit.cli.app import app
from modelgit.errors import ConfigError
from modelgit.sources import config

runner = CliRunner()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("stages: staging\n", "'stages' must be a list of str, not a str ('staging')"),
        (
            "promotion-order: [staging]\n",
            "unknown key 'promotion-order'; did you mean 'promotion_order'?",
        ),
        ("deploy: {replicas: two}\n", "'deploy.replicas' must be an int, not a str ('two')"),
        (
            "deploy: {stratgy: canary}\n",
            "unknown key 'deploy.stratgy'; did you mean 'deploy.strategy'?",
        ),
        ("policy: {production: {signed-by: [a]}}\n", "did you mean 'policy.production.signed_by'?"),
        ("policy: {production: {from: [staging]}}\n", "'policy.production.from' must be a str"),
        ("retention: {keep_stages: 1}\n", "'retention.keep_stages' must be a bool, not an int"),
        ("scan: {allow: [1]}\n", "'scan.allow' must be a list of str"),
        ("colour: true\n", "unknown key 'colour'; known keys here: stages, promotion_order"),
    ],
)
def test_wrong_types_and_unknown_keys_name_the_key(tmp_path, text, message):
    (tmp_path / config.FILE).write_text(text)
    with pytest.raises(ConfigError) as raised:
        config.load(tmp_path)
    assert message in str(raised.value)


def test_every_documented_key_is_accepted(tmp_path):
    (tmp_path / config.FILE).write_text(
        "stages: [dev, staging, production]\npromotion_order: [staging, production]\n"
        "deploy: {strategy: canary, image: x:1, namespace: ml, replicas: 2, port: 8080}\n"
        "scan: {allow: [numpy.core.multiarray._reconstruct]}\n"
        "policy: {production: {signed_by: [team], requires: [verify], from: staging}}\n"
        "allowed_signers: .modelgit/allowed_signers\n"
        "retention: {keep_last: 3, keep_days: 30, keep_stages: true, archive_stage: archived}\n"
    )
    settings = config.load(tmp_path)
    assert settings.stage_order() == ("staging", "production", "dev")
    assert settings.section("retention")["keep_last"] == 3 and settings.deploy["port"] == 8080


def test_the_cli_exits_2_and_list_follows_the_promotion_order(registry):
    (registry / config.FILE).write_text("stages: staging\n")
    result = runner.invoke(app, ["promote", "churn", "0.2.0", "staging", "-C", str(registry)])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "'stages' must be a list of str" in result.stderr
    (registry / config.FILE).write_text(
        "stages: [staging, production, canary]\npromotion_order: [canary, staging, production]\n"
    )
    for stage in ("production", "staging", "canary"):
        modelgit.promote(registry, "churn", "0.2.0", stage, force=True)
    assert list(modelgit.list_models(registry)[0].stages) == ["canary", "staging", "production"]
    table = runner.invoke(app, ["list", "-C", str(registry)]).stdout
    header = table.splitlines()[0].split()
    assert header == ["model", "latest", "canary", "staging", "production"]


@pytest.mark.parametrize(
    ("stages", "message"),
    [
        ('["a#b"]', "'a#b' in 'stages' is not a valid stage name"),
        ('["Prod Stage"]', "'Prod Stage' in 'stages' is not a valid stage name"),
        ('[""]', "'' in 'stages' is not a valid stage name"),
        ('["x!"]', "'x!' in 'stages' is not a valid stage name"),
        ('["prod/eu"]', "'prod/eu' in 'stages' is not a valid stage name"),
        ('["Prod_Stage"]', "'Prod_Stage' in 'stages' is not a valid stage name"),
        ('["-canary"]', "'-canary' in 'stages' is not a valid stage name"),
        (f'["{"a" * 64}"]', f"'{'a' * 64}' in 'stages' is not a valid stage name"),
        ("[staging, production, staging]", "'stages' lists 'staging' more than once"),
    ],
)
def test_stage_names_a_tag_cannot_carry_are_refused_at_load(tmp_path, stages, message):
    (tmp_path / config.FILE).write_text(f"stages: {stages}\n")
    with pytest.raises(ConfigError) as raised:
        config.load(tmp_path)
    assert str(raised.value).startswith(f"{config.FILE}: {message}")
    assert "\n" not in str(raised.value)


def test_configured_stage_names_follow_the_rule_promote_applies(registry):
    # GTO reads `Prod_Stage` and `team/qa` in tags, but promote refuses them (a stage names CI
    # jobs, environments and Kubernetes labels): a config that loads must name stages promote
    # accepts, so `stages: [prod/eu]` is refused at load, not at the first promote.
    (registry / config.FILE).write_text("stages: [dev, prod-eu, team-qa2, production]\n")
    assert config.load(registry).stages == ("dev", "prod-eu", "team-qa2", "production")
    change = modelgit.promote(registry, "churn", "0.2.0", "prod-eu")
    assert change.tag == "churn#prod-eu#1"
    (registry / config.FILE).write_text("stages: [staging, prod/eu]\n")
    result = runner.invoke(app, ["promote", "churn", "0.2.0", "prod/eu", "-C", str(registry)])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.output
    assert "'prod/eu' in 'stages' is not a valid stage name" in result.stderr
    assert f"use {config.STAGE_RULE}" in result.stderr
