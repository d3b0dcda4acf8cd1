"""verify: every seeded tampering is caught; signed tags with a real SSH key; --require-pushed."""

from __future__ import annotations

import subprocess

import pytest
import yaml
from conftest import commit_all, dvc, git, tag_message
from typer.testing import CliRunner

import modelgit
from modelgit.cli.app import app
from modelgit.errors import PipelineError

runner = CliRunner()


def failed(results):
    return {c.name: c.detail for r in results for c in r.checks if not c.ok}


def retag(repo, tag, message, rev):
    """What a tamperer (or a force-push) does: modelgit itself never moves a tag."""
    git(repo, "tag", "-f", "-a", "--cleanup=verbatim", "-F", "-", tag, rev, stdin=message)


def cache_file(repo, md5):
    return repo / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]


def test_good_versions_verify_from_workspace_and_cache(registry):
    [latest] = modelgit.verify(registry)
    assert latest.ok and "from the workspace" in latest.checks[-1].detail
    older = modelgit.verify(registry, "churn@v0.1.0")[0]
    assert older.ok and "from the DVC cache" in older.checks[-1].detail
    every = modelgit.verify(registry, all_versions=True)
    assert [r.tag for r in every] == ["churn@v0.1.0", "churn@v0.2.0"] and all(r.ok for r in every)
    result = runner.invoke(app, ["verify", "-C", str(registry)])
    assert result.exit_code == 0 and result.stdout.startswith("churn@v0.2.0: verified\n")


def test_a_re_pointed_tag_is_caught(registry):
    retag(registry, "churn@v0.2.0", tag_message(registry, "churn@v0.2.0"), "HEAD~1")
    problems = failed(modelgit.verify(registry, "churn@v0.2.0"))
    assert "re-pointed" in problems["commit"]
    assert "dvc.lock" in problems


def test_edited_metadata_is_caught(registry):
    message = tag_message(registry, "churn@v0.2.0").replace("train.C: 0.3", "train.C: 0.9")
    retag(registry, "churn@v0.2.0", message, "churn@v0.2.0^{commit}")
    problems = failed(modelgit.verify(registry, "churn@v0.2.0"))
    assert "train.C" in problems["params"] and "recomputes to" in problems["fingerprint"]


def test_an_edited_dvc_lock_is_caught(registry):
    lock = yaml.safe_load((registry / "dvc.lock").read_text())
    out = next(o for o in lock["stages"]["train"]["outs"] if o["path"] == "models/churn.pkl")
    out["md5"] = "0" * 32
    (registry / "dvc.lock").write_text(yaml.safe_dump(lock, sort_keys=False))
    forged = commit_all(registry, "Edit dvc.lock after tagging")
    retag(registry, "churn@v0.2.0", tag_message(registry, "churn@v0.2.0"), forged)
    problems = failed(modelgit.verify(registry, "churn@v0.2.0"))
    assert "0" * 32 in problems["dvc.lock"] and "re-pointed" in problems["commit"]


def test_a_flipped_byte_in_the_cache_is_caught(registry):
    md5 = modelgit.show(registry, "churn@v0.1.0").metadata["artifact"]["md5"]
    path = cache_file(registry, md5)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.chmod(0o644)
    path.write_bytes(bytes(data))
    problems = failed(modelgit.verify(registry, "churn@v0.1.0"))
    assert problems["artifact bytes"].startswith("models/churn.pkl from the DVC cache hashes to ")


def test_a_missing_artifact_fails_with_a_clear_message(registry):
    md5 = modelgit.show(registry, "churn@v0.1.0").metadata["artifact"]["md5"]
    cache_file(registry, md5).unlink()
    result = runner.invoke(app, ["verify", "churn@v0.1.0", "-C", str(registry)])
    assert result.exit_code == 1
    assert (
        f"BAD artifact bytes: models/churn.pkl ({md5}) is not in the DVC cache or remote"
        in result.stdout
    )
    assert result.stderr == "error: churn@v0.1.0 did not verify\n"


@pytest.mark.slow
def test_verify_reads_from_the_remote_in_a_fresh_clone(registry, tmp_path):
    # Three `dvc` processes: add the remote, push, add it in the clone.
    remote = tmp_path / "remote"
    dvc(registry, "remote", "add", "--local", "-d", "storage", str(remote))
    git(registry, "checkout", "--quiet", "churn@v0.1.0")  # push what that version needs
    dvc(registry, "push", "--quiet")
    git(registry, "checkout", "--quiet", "main")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", str(registry), str(clone))
    dvc(clone, "remote", "add", "--local", "-d", "storage", str(remote))
    [result] = modelgit.verify(clone, "churn@v0.1.0")
    assert result.ok and "from the DVC remote" in result.checks[-1].detail


@pytest.fixture
def ssh_signing(retrained, tmp_path):
    """A real SSH key configured for git's tag signing and trusted by git, and a stranger's key
    git does not trust; `retrained` holds a new model for the signed version."""
    keys = {}
    for name in ("trusted", "stranger"):
        key = tmp_path / name
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)],
                       check=True)  # fmt: skip
        keys[name] = key
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"test@example.com {(keys['trusted'].with_suffix('.pub')).read_text()}")
    git(retrained, "config", "gpg.format", "ssh")
    git(retrained, "config", "user.signingkey", str(keys["trusted"]))
    git(retrained, "config", "gpg.ssh.allowedSignersFile", str(allowed))
    return retrained, keys, allowed


def test_signed_versions_verify_and_unsigned_or_unknown_ones_fail(ssh_signing):
    repo, keys, allowed = ssh_signing
    signed = modelgit.bump(repo, modelgit.BumpRequest("minor", sign=True))
    [ok] = modelgit.verify(repo, signed.tag, require_signed=True)
    assert ok.ok and ok.checks[-1].detail == "the signature verifies"
    assert "SSH SIGNATURE" in git(repo, "cat-file", "-p", signed.tag)
    unsigned = failed(modelgit.verify(repo, "churn@v0.2.0", require_signed=True))
    assert unsigned == {"signature": "the tag is not signed"}
    assert modelgit.verify(repo, "churn@v0.2.0")[0].ok  # unsigned is fine when not required
    # The same signature once git trusts only a stranger's key: the signer is unknown.
    allowed.write_text(f"test@example.com {(keys['stranger'].with_suffix('.pub')).read_text()}")
    assert "does not verify" in failed(modelgit.verify(repo, signed.tag))["signature"]
    result = runner.invoke(app, ["verify", signed.tag, "-C", str(repo)])
    assert result.exit_code == 1 and result.stderr == f"error: {signed.tag} did not verify\n"


@pytest.mark.slow
def test_require_pushed(retrained, tmp_path):
    # `dvc remote add` and `dvc push` are the user's steps here.
    with pytest.raises(PipelineError, match=r"no default DVC remote"):
        modelgit.bump(retrained, modelgit.BumpRequest("minor", require_pushed=True))
    dvc(retrained, "remote", "add", "-d", "storage", str(tmp_path / "remote"))
    commit_all(retrained, "Add a DVC remote")
    with pytest.raises(PipelineError, match=r"not in the DVC remote yet; run `dvc push` first"):
        modelgit.bump(retrained, modelgit.BumpRequest("minor", require_pushed=True))
    dvc(retrained, "push", "--quiet")
    pushed = modelgit.bump(retrained, modelgit.BumpRequest("minor", require_pushed=True))
    assert pushed.version == "0.3.0"


def test_lightweight_tags_are_not_versions(registry):
    git(registry, "tag", "churn@v5.0.0")
    result = runner.invoke(app, ["verify", "churn@v5.0.0", "-C", str(registry)])
    assert result.exit_code == 1 and "lightweight tag" in result.stderr


def test_edited_data_hashes_are_caught(registry):
    train_md5 = modelgit.show(registry, "churn@v0.2.0").metadata["data"][0]["md5"]
    message = tag_message(registry, "churn@v0.2.0").replace(train_md5, "1" * 32)
    retag(registry, "churn@v0.2.0", message, "churn@v0.2.0^{commit}")
    problems = failed(modelgit.verify(registry, "churn@v0.2.0"))
    assert problems["data"] == f"data/train.csv is {train_md5} in dvc.lock, recorded {'1' * 32}"
    assert "recomputes to" in problems["fingerprint"]
