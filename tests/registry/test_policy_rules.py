"""The allowed-signers format as ssh-keygen reads it, and the policy's own rules (pure)."""

from __future__ import annotations

import subprocess
from datetime import datetime, timezone

import pytest

from modelgit.errors import ConfigError
from modelgit.registry.policy import (
    Requirement,
    admitting,
    key_fingerprint,
    matches,
    parse_allowed_signers,
    parse_policy,
    public_key_fingerprint,
)
from modelgit.sources.config import Config

KEY = "AAAAC3NzaC1lZDI1NTE5AAAAIAiEzx/ChLazEGMeqG7SusdC8EvIsCIfcIahcaQcIsqW"
OTHER = "AAAAC3NzaC1lZDI1NTE5AAAAIGCFtnlRixBGbsRGNnWGlfRr+DOFo2BEaI7o/OIpxnlR"
JUNE = datetime(2026, 6, 1, tzinfo=timezone.utc)


def test_fingerprints_are_the_ones_ssh_keygen_prints(tmp_path):
    key = tmp_path / "k"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    printed = subprocess.run(["ssh-keygen", "-lf", str(key) + ".pub"], capture_output=True,
                             text=True, check=True).stdout.split()[1]  # fmt: skip
    text = (tmp_path / "k.pub").read_text()
    assert public_key_fingerprint(text) == key_fingerprint(text.split()[1]) == printed
    assert public_key_fingerprint("-----BEGIN OPENSSH PRIVATE KEY-----") is None


@pytest.mark.parametrize(
    ("patterns", "name", "expected"),
    [
        ("alice@example.com,release-team", "release-team", True),
        ("alice@example.com,release-team", "release", False),
        ("*@release.example.com", "bob@release.example.com", True),
        ("*@example.com,!eve@example.com", "eve@example.com", False),
        ("team-?", "team-a", True),
        ("team-[ab]", "team-a", False),  # brackets are literal for ssh, unlike fnmatch
    ],
)
def test_principals_match_as_ssh_patterns(patterns, name, expected):
    assert matches(patterns, name) is expected


def test_allowed_signers_lines_with_options_comments_and_groups():
    signers = parse_allowed_signers(
        "# release managers\n\n"
        f"alice@example.com,release-team ssh-ed25519 {KEY} alice's laptop\n"
        f'"bob@example.com" namespaces="file,git",valid-before="20260101Z" ssh-ed25519 {OTHER}\n'
        f"ops cert-authority ssh-ed25519 {OTHER}\n"
        f'carol@example.com namespaces="file" ssh-ed25519 {OTHER}\n',
        "allowed_signers",
    )
    alice, bob, ca, carol = signers
    assert (alice.name, alice.line, alice.fingerprint) == (
        "alice@example.com",
        3,
        key_fingerprint(KEY),
    )
    assert bob.options == {"namespaces": "file,git", "valid-before": "20260101Z"}
    assert alice.admits("release-team", JUNE) and not alice.admits("ops", JUNE)
    assert bob.admits("bob@example.com", datetime(2025, 12, 31, tzinfo=timezone.utc))
    assert not bob.admits("bob@example.com", JUNE)  # expired
    assert not ca.admits("ops", JUNE)  # certificates are not supported: admits no one
    assert not carol.admits("carol@example.com", JUNE)  # may sign files, not git objects
    found = admitting(signers, key_fingerprint(KEY), ("release-team",), JUNE)
    assert found is alice
    assert admitting(signers, key_fingerprint(OTHER), ("release-team",), JUNE) is None


@pytest.mark.parametrize(
    "line", ["release-team", "x ssh-ed25519", "x ssh-ed25519 not-base64!", f"x opt {KEY}"]
)
def test_a_malformed_signers_line_names_its_line(line):
    with pytest.raises(ConfigError, match=r"^signers:2: "):
        parse_allowed_signers(f"# ok\n{line}\n", "signers")


def test_policy_rules_parse_from_settings():
    settings = Config(policy={
        "production": {"signed_by": "release-team", "requires": ["verify"], "from": "staging"},
        "staging": {},
    })  # fmt: skip
    policy = parse_policy(settings)
    production = policy.of("production")
    assert production is not None and production.signed_by == ("release-team",)
    assert production.requires == (Requirement.VERIFY,) and production.from_stage == "staging"
    assert policy.of("dev") is None and policy.needs_signers
    assert policy.allowed_signers == ".modelgit/allowed_signers"
    with pytest.raises(ConfigError, match="cannot be production itself"):
        parse_policy(Config(policy={"production": {"from": "production"}}))
    with pytest.raises(ConfigError, match="must be a name or a list of names"):
        parse_policy(Config(policy={"production": {"signed_by": [1]}}))
