"""Stage policies with real SSH keys, real `git tag -s` and real `git verify-tag` (gpg.format ssh).

Alice is in `release-team`, Bob is an allowed signer outside it, Mallory is in no file. The
policy: production is signed by release-team, requires verify and scan, and comes from staging.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from conftest import Payload, commit_all, dvc, git
from typer.testing import CliRunner

import modelgit
from modelgit.cli.app import app
from modelgit.errors import ConfigError, InvalidNameError, PolicyError, SigningSetupError
from modelgit.sources import dvc as dvc_source

runner = CliRunner()
POLICY = """
policy:
  production: {signed_by: [release-team], requires: [verify, scan], from: staging}
"""


def make_key(folder: Path, name: str) -> Path:
    key = folder / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)],
                   check=True)  # fmt: skip
    return key


def public(key: Path) -> str:
    return " ".join(key.with_suffix(".pub").read_text().split()[:2])


def fingerprint(key: Path) -> str:
    out = subprocess.run(["ssh-keygen", "-lf", str(key.with_suffix(".pub"))],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    return out.split()[1]


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("keys")
    return {name: make_key(folder, name) for name in ("alice", "bob", "mallory")}


@pytest.fixture
def guarded(registry, keys):
    """The registry under the production policy, committed, with Alice's key configured."""
    (registry / ".modelgit").mkdir()
    (registry / ".modelgit" / "allowed_signers").write_text(
        "# who may sign stage tags\n"
        f"alice@example.com,release-team {public(keys['alice'])} alice\n"
        f'bob@example.com namespaces="git,file" {public(keys["bob"])}\n'
    )
    (registry / ".modelgit.yaml").write_text(POLICY)
    commit_all(registry, "Guard production with a stage policy")
    use_key(registry, keys["alice"])
    return registry


def use_key(repo: Path, key: Path) -> None:
    git(repo, "config", "gpg.format", "ssh")
    git(repo, "config", "user.signingkey", str(key))


def tags(repo: Path) -> set[str]:
    return set(git(repo, "tag", "--list").split())


def is_signed(repo: Path, tag: str) -> bool:
    return "-----BEGIN SSH SIGNATURE-----" in git(repo, "cat-file", "-p", tag)


def forge(repo: Path, tag: str, rev: str, key: Path | None = None) -> None:
    """A stage tag someone wrote with plain git: `git tag -a`, or `git tag -s` with `key`."""
    if key is None:
        git(repo, "tag", "-a", "-m", "forged", tag, f"{rev}^{{commit}}")
    else:
        git(repo, "-c", f"user.signingkey={key}", "tag", "-s", "-m", "forged", tag,
            f"{rev}^{{commit}}")  # fmt: skip


def problems(repo: Path, tag: str) -> tuple[str, ...]:
    return modelgit.check_stage_policy(repo, tag).problems


def test_an_allowed_signer_promotes_with_a_signed_tag_that_verifies(guarded, keys):
    staging = modelgit.promote(guarded, "churn", "0.2.0", "staging")
    assert not is_signed(guarded, staging.tag)  # staging has no policy: nothing changes
    production = modelgit.promote(guarded, "churn", "0.2.0", "production")
    assert production.tag == "churn#production#2" and is_signed(guarded, production.tag)
    # git itself, with the repository's allowed-signers file, accepts the signature.
    allowed = guarded / ".modelgit" / "allowed_signers"
    said = subprocess.run(
        ["git", "-c", f"gpg.ssh.allowedSignersFile={allowed}", "verify-tag", production.tag],
        cwd=guarded, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert said.returncode == 0 and "Good" in said.stderr
    report = modelgit.check_policy(guarded)
    assert report.ok and [c.tag for c in report.checks] == ["churn#production#2"]
    [check] = report.checks
    assert check.signer == f"alice@example.com ({fingerprint(keys['alice'])})"
    assert check.in_force and check.rules == (
        "signed by release-team; requires verify, scan; from staging"
    )
    result = runner.invoke(app, ["verify", "--policy", "-C", str(guarded)])
    assert result.exit_code == 0, result.output
    assert "ok  churn#production#2: v0.2.0, in force, signed by alice@example.com" in result.stdout


def test_a_key_the_policy_does_not_admit_is_refused_before_any_tag(guarded, keys):
    modelgit.promote(guarded, "churn", "0.2.0", "staging")
    before = tags(guarded)
    use_key(guarded, keys["bob"])
    with pytest.raises(PolicyError, match=(
        rf"your signing key {re.escape(fingerprint(keys['bob']))} \(user.signingkey\) is listed as "
        r"bob@example.com but may not sign production tags, which must be signed by release-team"
    )):  # fmt: skip
        modelgit.promote(guarded, "churn", "0.2.0", "production")
    use_key(guarded, keys["mallory"])
    result = runner.invoke(app, ["promote", "churn", "0.2.0", "production", "-C", str(guarded)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: your signing key {fingerprint(keys['mallory'])} (user.signingkey) is not in "
        ".modelgit/allowed_signers, so it may not sign production tags, which must be signed "
        "by release-team\n"
    )
    assert tags(guarded) == before


def test_signing_set_up_problems_are_input_errors(guarded, keys):
    """git not set up to sign (gpg.format, user.signingkey unset or unreadable) is bad input
    (exit 2), not a policy check that failed (exit 1): nothing was judged yet."""
    modelgit.promote(guarded, "churn", "0.2.0", "staging")
    before = tags(guarded)
    git(guarded, "config", "--unset", "gpg.format")
    with pytest.raises(SigningSetupError, match=r"run `git config gpg.format ssh`"):
        modelgit.promote(guarded, "churn", "0.2.0", "production")
    result = runner.invoke(app, ["promote", "churn", "0.2.0", "production", "-C", str(guarded)])
    assert result.exit_code == 2 and "`git config gpg.format ssh`" in result.stderr
    git(guarded, "config", "gpg.format", "ssh")
    git(guarded, "config", "--unset", "user.signingkey")
    with pytest.raises(SigningSetupError, match=r"set `git config user.signingkey`"):
        modelgit.rollback(guarded, "churn", "production", to="0.2.0")
    git(guarded, "config", "user.signingkey", str(guarded / "no-such-key"))
    result = runner.invoke(app, ["promote", "churn", "0.2.0", "production", "-C", str(guarded)])
    assert result.exit_code == 2 and "cannot read the public key" in result.stderr
    assert tags(guarded) == before


def test_a_version_that_skipped_from_is_refused_even_with_force(guarded):
    before = tags(guarded)
    for force in (False, True):
        with pytest.raises(PolicyError, match=(
            r"churn v0.1.0 has not been in staging; the production policy takes versions from "
            r"staging only \(promote it to staging first\)"
        )):  # fmt: skip
            modelgit.promote(guarded, "churn", "0.1.0", "production", force=force)
    assert tags(guarded) == before


def test_forged_and_wrongly_signed_stage_tags_fail_naming_the_tag(guarded, keys):
    modelgit.promote(guarded, "churn", "0.1.0", "staging")
    modelgit.promote(guarded, "churn", "0.1.0", "production")  # churn#production#2, by Alice
    # Someone with push access but no allowed key writes production tags with plain git.
    forge(guarded, "churn#production#3", "churn@v0.2.0")
    assert problems(guarded, "churn#production#3") == (
        "is not signed (production tags must be signed by release-team)",
        "v0.2.0 had not been in staging before it (production takes versions from staging)",
    )
    forge(guarded, "churn#production#4", "churn@v0.1.0", keys["mallory"])
    assert problems(guarded, "churn#production#4") == (
        "is signed by a key that is not in .modelgit/allowed_signers "
        f"({fingerprint(keys['mallory'])})",
    )
    forge(guarded, "churn#production#5", "churn@v0.1.0", keys["bob"])
    assert problems(guarded, "churn#production#5") == (
        f"is signed by bob@example.com ({fingerprint(keys['bob'])}), whom "
        ".modelgit/allowed_signers does not admit as release-team",
    )
    # Alice's own key cannot make a version skip staging either.
    forge(guarded, "churn#production#6", "churn@v0.2.0", keys["alice"])
    assert problems(guarded, "churn#production#6") == (
        "v0.2.0 had not been in staging before it (production takes versions from staging)",
    )
    # Alice's signed tag object, its message edited and stored under a new stage-tag name.
    raw = git(guarded, "cat-file", "tag", "churn#production#2")
    edited = raw.replace("tag churn#production#2", "tag churn#production#7")
    oid = git(guarded, "mktag", stdin=edited.replace("action: promote", "action: promote ")).strip()
    git(guarded, "update-ref", "refs/tags/churn#production#7", oid)
    assert problems(guarded, "churn#production#7") == (
        "its signature does not verify: Signature verification failed: incorrect signature",
    )
    [current] = modelgit.check_policy(guarded).checks
    assert (current.tag, current.in_force, current.ok) == ("churn#production#7", True, False)
    history = modelgit.check_policy(guarded, "churn", history=True)
    assert [(c.tag, c.ok) for c in history.checks] == [
        ("churn#production#2", True), ("churn#production#3", False),
        ("churn#production#4", False), ("churn#production#5", False),
        ("churn#production#6", False), ("churn#production#7", False),
    ]  # fmt: skip
    result = runner.invoke(app, ["verify", "--policy", "churn", "--history", "-C", str(guarded)])
    assert result.exit_code == 1
    assert result.stderr == (
        "error: the stage policy is broken by churn#production#3, churn#production#4, "
        "churn#production#5, churn#production#6, churn#production#7\n"
    )
    assert "  BAD churn#production#3: v0.2.0 (signed by release-team; requires" in result.stdout
    assert "        churn#production#3 is not signed (production tags must be" in result.stdout


def test_a_staging_tag_that_breaks_its_own_policy_does_not_open_production(guarded, keys):
    (guarded / ".modelgit.yaml").write_text(
        POLICY + "  staging: {signed_by: [release-team, bob@example.com]}\n"
    )
    commit_all(guarded, "Sign staging too")
    forge(guarded, "churn#staging#1", "churn@v0.2.0")  # unsigned: not evidence of staging
    with pytest.raises(PolicyError, match="has not been in staging"):
        modelgit.promote(guarded, "churn", "0.2.0", "production")
    use_key(guarded, keys["bob"])  # Bob may sign staging
    modelgit.promote(guarded, "churn", "0.1.0", "staging")
    staging = modelgit.promote(guarded, "churn", "0.2.0", "staging")
    assert staging.tag == "churn#staging#3" and is_signed(guarded, staging.tag)
    use_key(guarded, keys["alice"])
    modelgit.promote(guarded, "churn", "0.2.0", "production")
    report = modelgit.check_policy(guarded, history=True)
    assert [(c.tag, c.ok) for c in report.checks] == [
        ("churn#production#4", True), ("churn#staging#1", False), ("churn#staging#2", True),
        ("churn#staging#3", True),
    ]  # fmt: skip


def test_required_checks_run_before_the_tag(guarded):
    modelgit.promote(guarded, "churn", "0.1.0", "staging")
    md5 = modelgit.show(guarded, "churn@v0.1.0").metadata["artifact"]["md5"]
    cached = dvc_source.cache_path(guarded, md5)
    assert cached is not None
    cached.chmod(0o644)
    cached.write_bytes(b"not the model")  # the cache object no longer holds the version's bytes
    before = tags(guarded)
    with pytest.raises(PolicyError, match=(
        r"the production policy requires verify, and churn@v0.1.0 fails it: artifact bytes: "
        r"models/churn.pkl: the DVC cache copy hashes to"
    )):  # fmt: skip
        modelgit.promote(guarded, "churn", "0.1.0", "production")
    assert tags(guarded) == before


@pytest.mark.slow
def test_an_unsafe_pickle_is_refused_by_the_scan_requirement(guarded, tmp_path):
    import pickle

    (guarded / "models" / "churn.pkl").write_bytes(pickle.dumps(Payload("echo pwned")))
    dvc(guarded, "commit", "--force", "--quiet")
    commit_all(guarded, "A model that runs code on load")
    unsafe = modelgit.bump(guarded, modelgit.BumpRequest("minor", allow_unsafe_pickle=True))
    modelgit.promote(guarded, "churn", unsafe.version, "staging")
    (guarded / ".modelgit.yaml").write_text(POLICY.replace("verify, scan", "scan"))
    with pytest.raises(PolicyError, match=(
        r"the production policy requires scan, and models/churn.pkl of churn@v0.3.0 imports "
        r"globals that run code on load \(unknown global posix.system\)"
    )):  # fmt: skip
        modelgit.promote(guarded, "churn", unsafe.version, "production")


def test_rollback_and_rollout_sign_their_tags(guarded):
    for version in ("0.1.0", "0.2.0"):
        modelgit.promote(guarded, "churn", version, "staging")
        modelgit.promote(guarded, "churn", version, "production")
    back = modelgit.rollback(guarded, "churn")
    assert (back.tag, back.version) == ("churn#production#5", "0.1.0")
    assert is_signed(guarded, back.tag)
    request = modelgit.RolloutRequest("churn", "0.2.0", health_cmd="false", window=1, interval=1)
    result = modelgit.rollout(guarded, request)
    assert not result.succeeded and result.promoted and result.rolled_back
    assert is_signed(guarded, result.promoted) and is_signed(guarded, result.rolled_back)
    report = modelgit.check_policy(guarded, history=True)
    assert report.ok and len(report.checks) == 5  # production tags only


def test_a_rollout_that_could_not_roll_back_is_refused_before_it_starts(registry, keys):
    modelgit.promote(registry, "churn", "0.1.0", "production")  # before there was a policy
    (registry / ".modelgit").mkdir()
    (registry / ".modelgit" / "allowed_signers").write_text(
        f"alice@example.com,release-team {public(keys['alice'])}\n"
    )
    (registry / ".modelgit.yaml").write_text(POLICY.replace("requires: [verify, scan], ", ""))
    use_key(registry, keys["alice"])
    modelgit.promote(registry, "churn", "0.2.0", "staging")
    before = tags(registry)
    request = modelgit.RolloutRequest("churn", "0.2.0", health_cmd="true", window=0.1, interval=1)
    with pytest.raises(PolicyError, match=(
        r"a failed rollout could not roll production back to v0.1.0: it has not been in "
        r"staging, as the production policy requires; promote v0.1.0 to staging first"
    )):  # fmt: skip
        modelgit.rollout(registry, request)
    assert tags(registry) == before
    modelgit.promote(registry, "churn", "0.1.0", "staging")
    result = modelgit.rollout(registry, request)
    assert result.succeeded and result.promoted and is_signed(registry, result.promoted)


def test_ci_judges_one_stage_tag(guarded, keys):
    modelgit.promote(guarded, "churn", "0.2.0", "staging")
    modelgit.promote(guarded, "churn", "0.2.0", "production")
    check = modelgit.check_stage_policy(guarded, "refs/tags/churn#production#2")
    assert check.ok and check.in_force and check.signer is not None
    assert modelgit.check_stage_policy(guarded, "churn#staging#1").rules == ""  # no policy
    forge(guarded, "churn#production#3", "churn@v0.2.0", keys["mallory"])
    assert not modelgit.check_stage_policy(guarded, "churn#production#3").ok
    with pytest.raises(InvalidNameError, match="is not a stage tag"):
        modelgit.check_stage_policy(guarded, "churn@v0.2.0")


def test_the_policy_is_read_from_a_trusted_revision_when_asked(guarded, keys):
    modelgit.promote(guarded, "churn", "0.2.0", "staging")
    # An unreviewed branch lets Mallory's key into release-team, and Mallory signs production.
    git(guarded, "checkout", "--quiet", "-b", "mallory")
    with (guarded / ".modelgit" / "allowed_signers").open("a") as signers:
        signers.write(f"mallory@example.com,release-team {public(keys['mallory'])}\n")
    commit_all(guarded, "Trust me")
    forge(guarded, "churn#production#2", "churn@v0.2.0", keys["mallory"])
    assert modelgit.check_policy(guarded).ok  # the checkout's own policy is Mallory's
    trusted = modelgit.check_policy(guarded, policy_ref="main")
    assert trusted.source == "main" and trusted.failed == ("churn#production#2",)
    result = runner.invoke(
        app, ["verify", "--policy", "--policy-ref", "main", "--json", "-C", str(guarded)]
    )
    assert result.exit_code == 1 and '"source": "main"' in result.stdout


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ("policy: {canary: {signed_by: [x]}}", r"policy names stage 'canary', which is not one"),
        ("policy: {production: {requires: [lint]}}", r"requires names lint; use verify, scan"),
        ("policy: {production: {from: qa}}", r"policy.production.from must be one of"),
        (
            "policy: {production: {signers: [x]}}",
            r"unknown key 'policy.production.signers'; did you mean 'policy.production.signed_by'",
        ),
        ("policy: {production: {signed_by: [x]}}\nallowed_signers: ../keys", r"inside the repo"),
        ("policy: {production: {signed_by: [x]}}\nallowed_signers: none", r"none does not exist"),
        ("stages: [staging, production]", r"has no `policy:` section"),
    ],
)
def test_a_malformed_policy_is_one_clear_error(registry, policy, message):
    (registry / ".modelgit.yaml").write_text(policy + "\n")
    with pytest.raises(ConfigError, match=message):
        modelgit.check_policy(registry)
    result = runner.invoke(app, ["verify", "--policy", "-C", str(registry)])
    assert result.exit_code == 2 and result.stderr.startswith("error: ")


def test_history_without_policy_is_a_usage_error(registry):
    result = runner.invoke(app, ["verify", "--history", "-C", str(registry)])
    assert result.exit_code == 2 and "go with --policy" in result.stderr
