"""`ci release` per kind of tag, `--since`, and `ci report`'s freshness warning."""

from __future__ import annotations

import os

import pytest
from conftest import commit_all, git, set_param
from typer.testing import CliRunner

import modelgit
from modelgit.cli.app import app

runner = CliRunner()


# With no DVC remote for pods to download from, these projects bake the model into the image.
BAKED = "  image: acme/{model}:{version}\n"


def deploy(repo, text: str) -> None:
    (repo / ".modelgit.yaml").write_text(f"deploy:\n{BAKED}{text}")


def names(result) -> list[str]:
    return sorted(os.path.basename(m) for m in result.manifests)


def test_release_verifies_renders_and_summarises(registry):
    deploy(registry, "")
    modelgit.promote(registry, "churn", "0.1.0", "production")
    result = modelgit.ci_release(registry, "churn@v0.2.0", registry / "checked")
    assert result.kind == "registration" and result.verified and result.problems == ()
    assert names(result) == ["rollout.yaml", "services.yaml"]
    assert (result.previous.tag, result.production.tag) == ("churn@v0.1.0", "churn@v0.1.0")
    assert result.published is None
    assert result.notes == ("not published: the project has no default DVC remote",)
    assert not (registry / "checked" / "summary.md").exists()  # the API returns data only
    out = registry / "release"
    released = runner.invoke(app, ["ci", "release", "churn@v0.2.0", "--out", str(out),
                                   "-C", str(registry)])  # fmt: skip
    assert released.exit_code == 0, released.output
    summary = (out / "summary.md").read_text()
    assert summary.startswith("<!-- modelgit release summary -->\n### churn@v0.2.0 ✅ verified")
    assert "#### Metrics vs previous (churn@v0.1.0)" in summary
    assert "#### Metrics vs production (churn@v0.1.0)" in summary
    assert released.stdout == f"{summary}summary: {out / 'summary.md'}\n"


def test_registration_publishes_to_the_s3_remote(s3_registry):
    repo, bucket = s3_registry
    result = modelgit.ci_release(repo, "churn@v0.2.0", repo / "out")
    assert result.ok and result.published is not None and result.published.copied
    assert result.published.uri == f"s3://{bucket}/dvcstore/modelgit/churn/v0.2.0"
    printed = runner.invoke(app, ["ci", "release", "churn@v0.2.0", "--out", str(repo / "again"),
                                  "-C", str(repo)])  # fmt: skip
    assert printed.exit_code == 0, printed.output
    assert f"- 📦 already published: `s3://{bucket}/dvcstore/modelgit/churn/v0.2.0`" in (
        printed.stdout
    )


def test_canary_with_an_empty_production_deploys_the_first_release_plainly(registry):
    deploy(registry, "  strategy: canary\n")
    result = modelgit.ci_release(registry, "churn@v0.2.0", registry / "out")
    assert result.ok and result.strategy == "bluegreen"
    assert names(result) == ["rollout.yaml", "services.yaml"]
    assert "first release of churn: deployed plainly" in result.notes[-1]
    text = (registry / "out" / "manifests" / "rollout.yaml").read_text()
    assert text.count("kind: Rollout") == 1 and '"0.2.0"' in text


def test_a_stage_assignment_renders_from_the_stage_previous_holder(registry):
    deploy(registry, "  strategy: canary\n")
    first = modelgit.promote(registry, "churn", "0.1.0", "production")
    second = modelgit.promote(registry, "churn", "0.2.0", "production")
    plain = modelgit.ci_release(registry, first.tag, registry / "first")
    assert (plain.kind, plain.stage, plain.stable, plain.strategy) == (
        "assignment", "production", None, "bluegreen",
    )  # fmt: skip
    assert "no longer production's current assignment" in plain.notes[0]
    rolled = modelgit.ci_release(registry, second.tag, registry / "second")
    assert rolled.strategy == "canary" and rolled.stable.tag == "churn@v0.1.0"
    assert names(rolled) == ["analysis.yaml", "rollout.yaml", "routing.yaml", "services.yaml"]
    rollout = (registry / "second" / "manifests" / "rollout.yaml").read_text()
    assert '"0.2.0"' in rollout and '"0.1.0"' in rollout
    printed = runner.invoke(app, ["ci", "release", second.tag, "-C", str(registry)])
    assert printed.exit_code == 0, printed.output
    assert f"### {second.tag}: churn@v0.2.0 to production" in printed.stdout
    assert "- strategy: canary, from churn@v0.1.0" in printed.stdout


def test_ab_takes_weights_from_the_option_or_the_config(registry):
    deploy(registry, "  strategy: ab\n")
    plain = modelgit.ci_release(registry, "churn@v0.2.0", registry / "plain")
    assert plain.strategy == "bluegreen" and "ab without weights" in plain.notes[-1]
    weights = "churn@v0.1.0=0.9,churn@v0.2.0=0.1"
    given = modelgit.ci_release(registry, "churn@v0.2.0", registry / "given", weights=weights)
    assert given.strategy == "ab" and "router-config.yaml" in names(given)
    deploy(registry, f"  strategy: ab\n  weights: {weights}\n")
    configured = modelgit.ci_release(registry, "churn@v0.2.0", registry / "configured")
    assert configured.strategy == "ab"
    assert (registry / "configured/manifests/router-config.yaml").read_text() == (
        registry / "given/manifests/router-config.yaml"
    ).read_text()


def test_a_stage_tag_that_breaks_the_policy_renders_nothing(registry):
    (registry / ".modelgit.yaml").write_text("policy:\n  production: {signed_by: [release-team]}\n")
    commit = git(registry, "rev-parse", "churn@v0.2.0^{commit}").strip()
    # Pushed with plain git, past modelgit's own refusal: unsigned.
    git(registry, "tag", "-a", "-m", "promote", "churn#production#3", commit)
    (registry / ".modelgit").mkdir()
    (registry / ".modelgit" / "allowed_signers").write_text(
        "alice@example.com,release-team ssh-ed25519 "
        "AAAAC3NzaC1lZDI1NTE5AAAAIHzrHl6uFPkMNEaxwhIAvIkaZp9HNDuZFZ2H0bBDfQ4b alice\n"
    )
    commit_all(registry, "Production needs the release team's signature")
    result = modelgit.ci_release(registry, "churn#production#3", registry / "out",
                                 policy_ref="main")  # fmt: skip
    assert not result.ok and result.manifests == ()
    assert "not signed" in result.problems[0]
    printed = runner.invoke(app, ["ci", "release", "churn#production#3", "--out",
                                  str(registry / "cli"), "-C", str(registry)])  # fmt: skip
    assert printed.exit_code == 1
    assert "error: churn#production#3 did not release: policy:" in printed.stderr
    assert not (registry / "cli" / "manifests").exists()


@pytest.mark.parametrize("tag", ["churn@v0.1.0!", "churn#production!#3", "churn@deprecated"])
def test_cancel_forms_have_nothing_to_release(registry, tag):
    result = runner.invoke(app, ["ci", "release", tag, "--out", str(registry / "out"),
                                 "-C", str(registry)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"### {tag}: nothing to release" in result.stdout
    assert not (registry / "out" / "manifests").exists()


def test_since_releases_every_tag_created_after_a_ref(registry):
    deploy(registry, "")
    commit_all(registry, "Bake the model into the image")
    staged = modelgit.promote(registry, "churn", "0.2.0", "staging")
    result = runner.invoke(app, ["ci", "release", "--since", "churn@v0.1.0", "--out",
                                 str(registry / "caught-up"), "-C", str(registry)])  # fmt: skip
    assert result.exit_code == 0, result.output
    released = modelgit.ci_release_since(registry, "churn@v0.1.0", registry / "api")
    assert [r.tag for r in released] == ["churn@v0.2.0", staged.tag]
    summary = (registry / "caught-up" / "summary.md").read_text()
    assert "### churn@v0.2.0 ✅ verified" in summary and f"### {staged.tag}: " in summary
    slug = staged.tag.replace("#", "-")
    assert (registry / "caught-up" / slug / "manifests" / "services.yaml").is_file()
    nothing = runner.invoke(app, ["ci", "release", "--since", staged.tag, "--out",
                                  str(registry / "none"), "-C", str(registry)])  # fmt: skip
    assert nothing.exit_code == 0 and "Nothing to release since" in nothing.stdout
    both = runner.invoke(app, ["ci", "release", "churn@v0.2.0", "--since", "HEAD",
                               "-C", str(registry)])  # fmt: skip
    assert both.exit_code == 2 and "either a TAG or --since" in both.stderr
    unknown = runner.invoke(app, ["ci", "release", "--since", "nope", "-C", str(registry)])
    assert unknown.exit_code == 2 and "names no tag or commit" in unknown.stderr


def test_report_says_when_the_head_pipeline_is_stale(retrained):
    git(retrained, "branch", "base", "HEAD")
    fresh = modelgit.ci_report(retrained, "base")
    assert fresh.stale == {}
    set_param(retrained, "C: 0.25", "C: 0.2")  # committed without `dvc repro`
    commit_all(retrained, "Change train.C, forget to reproduce")
    report = modelgit.ci_report(retrained, "base")
    assert list(report.stale) == ["train"]
    assert "params.yaml" in report.stale["train"][0] and not report.failed
    out = retrained / "report.md"
    result = runner.invoke(app, ["ci", "report", "--base", "base", "--out", str(out),
                                 "-C", str(retrained)])  # fmt: skip
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert text.startswith("<!-- modelgit report -->\n## modelgit report\n\n> [!WARNING]\n")
    assert "**The head's pipeline is stale**" in text
    required = runner.invoke(app, ["ci", "report", "--base", "base", "--out", str(out),
                                   "--require-fresh", "-C", str(retrained)])  # fmt: skip
    assert required.exit_code == 1
    assert "the head's dvc.lock is out of date (train)" in required.stderr
    assert out.read_text() == text  # the report is still written, for the job summary
