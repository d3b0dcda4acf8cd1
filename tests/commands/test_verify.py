"""verify on the example registry: the tamper matrix for metadata fields and single-file bytes,
signed tags with a real SSH key, --require-pushed. Directory artifacts: test_verify_directory.py."""

from __future__ import annotations

import json
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


def check(result, name):
    return next(c for c in result.checks if c.name == name)


def mismatch_lines(results):
    return [str(m) for r in results for c in r.checks for m in c.mismatches]


def retag(repo, tag, message, rev):
    """What a tamperer (or a force-push) does: modelgit itself never moves a tag."""
    git(repo, "tag", "-f", "-a", "--cleanup=verbatim", "-F", "-", tag, rev, stdin=message)


def cache_file(repo, md5):
    return repo / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]


def test_good_versions_verify_from_workspace_and_cache(registry):
    [latest] = modelgit.verify(registry)
    assert latest.ok and latest.verdict == "verified"
    assert "from the workspace" in check(latest, "artifact bytes").detail
    # Every field the commit determines was compared, and each agreed.
    compared = ["artifact", "fingerprint", "data", "stages", "params", "metrics", "features",
                "schema_signature", "parents"]  # fmt: skip
    assert [c.name for c in latest.checks] == [
        "tag",
        "metadata",
        "commit",
        "pipeline",
        *compared,
        "artifact bytes",
    ]
    assert all(c.status == "ok" for c in latest.checks)
    assert check(latest, "stages").detail == "prepare, train, as the commit has them"
    # What bump recorded that no commit can confirm is listed, not passed over in silence.
    assert set(latest.not_derivable) == {"previous", "bump", "created_at", "created_by",
                                         "environment"}  # fmt: skip
    assert latest.notes == ("the tag is not signed (--require-signed demands a signature)",)
    older = modelgit.verify(registry, "churn@v0.1.0")[0]
    assert older.ok and "from the DVC cache" in check(older, "artifact bytes").detail
    every = modelgit.verify(registry, all_versions=True)
    assert [r.tag for r in every] == ["churn@v0.1.0", "churn@v0.2.0"] and all(r.ok for r in every)
    result = runner.invoke(app, ["verify", "-C", str(registry)])
    assert result.exit_code == 0 and result.stdout.startswith("churn@v0.2.0: verified\n")
    assert "  ok           metrics: 5 metrics, each as the commit has it\n" in result.stdout
    assert "  recorded, not derivable: previous, bump, created_at, created_by, environment\n" in (
        result.stdout
    )


def test_a_re_pointed_tag_is_caught(registry):
    retag(registry, "churn@v0.2.0", tag_message(registry, "churn@v0.2.0"), "HEAD~1")
    results = modelgit.verify(registry, "churn@v0.2.0")
    problems = failed(results)
    assert "re-pointed" in problems["commit"]
    # The older commit's facts differ from what the tag records: each is named.
    assert "params.train.C: recorded 0.3, derived 1.0" in mismatch_lines(results)
    assert problems["artifact"].startswith("artifact.md5: recorded ")
    assert results[0].verdict == "FAILED"


def test_edited_metadata_is_caught(registry):
    message = tag_message(registry, "churn@v0.2.0").replace("train.C: 0.3", "train.C: 0.9")
    retag(registry, "churn@v0.2.0", message, "churn@v0.2.0^{commit}")
    results = modelgit.verify(registry, "churn@v0.2.0")
    problems = failed(results)
    assert problems["params"] == "params.train.C: recorded 0.9, derived 0.3"
    # The fingerprint no longer covers the params the tag records.
    recorded = modelgit.show(registry, "churn@v0.2.0").metadata["fingerprint"]
    assert problems["fingerprint"].startswith(
        f'fingerprint (over the recorded fields): recorded "{recorded}", derived "'
    )


def test_an_edited_dvc_lock_is_caught(registry):
    lock = yaml.safe_load((registry / "dvc.lock").read_text())
    out = next(o for o in lock["stages"]["train"]["outs"] if o["path"] == "models/churn.pkl")
    out["md5"] = "0" * 32
    (registry / "dvc.lock").write_text(yaml.safe_dump(lock, sort_keys=False))
    forged = commit_all(registry, "Edit dvc.lock after tagging")
    retag(registry, "churn@v0.2.0", tag_message(registry, "churn@v0.2.0"), forged)
    problems = failed(modelgit.verify(registry, "churn@v0.2.0"))
    assert f'derived "{"0" * 32}"' in problems["artifact"] and "re-pointed" in problems["commit"]
    # The bytes the forged dvc.lock names exist nowhere.
    # HEAD is the forged commit, so the work tree's model is the copy proved, and it is not that.
    assert problems["artifact bytes"].startswith("models/churn.pkl: the workspace copy hashes to")
    assert problems["artifact bytes"].endswith(f", not {'0' * 32}")


def test_a_flipped_byte_in_the_cache_is_caught(registry):
    md5 = modelgit.show(registry, "churn@v0.1.0").metadata["artifact"]["md5"]
    path = cache_file(registry, md5)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.chmod(0o644)
    path.write_bytes(bytes(data))
    problems = failed(modelgit.verify(registry, "churn@v0.1.0"))
    assert problems["artifact bytes"].startswith("models/churn.pkl: the DVC cache copy hashes to ")
    assert problems["artifact bytes"].endswith(f", not {md5}")


def test_bytes_missing_everywhere_fail_unless_no_bytes(registry):
    md5 = modelgit.show(registry, "churn@v0.1.0").metadata["artifact"]["md5"]
    cache_file(registry, md5).unlink()
    result = runner.invoke(app, ["verify", "churn@v0.1.0", "-C", str(registry)])
    assert result.exit_code == 1
    assert result.stdout.startswith("churn@v0.1.0: FAILED (artifact bytes)\n")
    assert (
        f"  FAILED       artifact bytes:\n{'':15}models/churn.pkl ({md5}) is in neither the DVC "
        "cache nor the DVC remote (no default DVC remote is configured)\n"
    ) in result.stdout
    assert result.stderr == "error: churn@v0.1.0 did not verify\n"
    # --no-bytes: every other check still runs; the bytes are reported as not checked, and the
    # verdict does not claim more than was checked.
    skipped = runner.invoke(app, ["verify", "churn@v0.1.0", "--no-bytes", "-C", str(registry)])
    assert skipped.exit_code == 0, skipped.output
    assert skipped.stdout.startswith(
        "churn@v0.1.0: partly verified (not checked: artifact bytes)\n"
    )
    assert "  not checked  artifact bytes: --no-bytes: not hashed\n" in skipped.stdout
    [result_api] = modelgit.verify(registry, "churn@v0.1.0", check_bytes=False)
    assert result_api.ok and result_api.verdict == "partly verified"
    assert [c.name for c in result_api.checks if not c.ok] == ["artifact bytes"]


def test_a_version_re_created_with_forged_metrics_is_caught(registry):
    # The tag re-created on the same commit, its metadata claiming a better accuracy than the
    # commit's metrics.json holds.
    real = modelgit.show(registry, "churn@v0.2.0").metadata["metrics"]["accuracy"]
    message = tag_message(registry, "churn@v0.2.0").replace(f"accuracy: {real}", "accuracy: 0.999")
    retag(registry, "churn@v0.2.0", message, "churn@v0.2.0^{commit}")
    result = runner.invoke(app, ["verify", "churn@v0.2.0", "-C", str(registry)])
    assert result.exit_code == 1
    assert result.stdout.startswith("churn@v0.2.0: FAILED (metrics)\n")
    assert (
        f"  FAILED       metrics:\n{'':15}metrics.accuracy: recorded 0.999, derived {real}\n"
        in (result.stdout)
    )
    assert "  ok           fingerprint:" in result.stdout  # metrics are not fingerprinted


def test_edited_features_are_caught(registry):
    message = tag_message(registry, "churn@v0.2.0").replace("- support_calls\n", "")
    retag(registry, "churn@v0.2.0", message, "churn@v0.2.0^{commit}")
    results = modelgit.verify(registry, "churn@v0.2.0")
    [features] = [c for c in results[0].checks if c.name == "features"]
    assert features.status == "FAILED"
    [line] = mismatch_lines([results[0]])
    assert (
        line.startswith('features: recorded ["tenure_months", ')
        and '"support_calls"' in (line.split("derived")[1])
    )
    assert '"support_calls"' not in line.split("derived")[0]


def test_an_edited_data_size_is_caught(registry):
    size = modelgit.show(registry, "churn@v0.2.0").metadata["data"][0]["size"]
    message = tag_message(registry, "churn@v0.2.0").replace(f"size: {size}\n", "size: 1\n", 1)
    retag(registry, "churn@v0.2.0", message, "churn@v0.2.0^{commit}")
    problems = failed(modelgit.verify(registry, "churn@v0.2.0"))
    assert problems == {"data": f"data[data/train.csv].size: recorded 1, derived {size}"}


def test_json_has_the_structure_of_the_text(registry):
    real = modelgit.show(registry, "churn@v0.2.0").metadata["metrics"]["accuracy"]
    message = tag_message(registry, "churn@v0.2.0").replace(f"accuracy: {real}", "accuracy: 0.999")
    retag(registry, "churn@v0.2.0", message, "churn@v0.2.0^{commit}")
    result = runner.invoke(app, ["verify", "churn@v0.2.0", "--json", "-C", str(registry)])
    assert result.exit_code == 1
    [document] = json.loads(result.stdout)
    assert document["verdict"] == "FAILED" and document["ok"] is False
    statuses = {c["name"]: c["status"] for c in document["checks"]}
    assert statuses["metrics"] == "FAILED" and statuses["artifact bytes"] == "ok"
    [metrics] = [c for c in document["checks"] if c["name"] == "metrics"]
    assert metrics["mismatches"] == [
        {"field": "metrics.accuracy", "recorded": 0.999, "derived": real}
    ]
    assert "created_by" in document["not_derivable"]
    skipped = runner.invoke(app, ["verify", "churn@v0.1.0", "--json", "--no-bytes", "-C",
                                  str(registry)])  # fmt: skip
    [partial] = json.loads(skipped.stdout)
    assert partial["verdict"] == "partly verified" and partial["ok"] is True
    assert partial["checks"][-1] == {
        "name": "artifact bytes", "status": "not checked", "detail": "--no-bytes: not hashed",
        "mismatches": [], "problems": [], "waived": True,
    }  # fmt: skip


def test_a_tag_without_metadata_is_not_verified_but_its_bytes_are_checked(registry):
    # As GTO writes a version: an annotated tag whose message is not metadata.
    git(registry, "tag", "-a", "-m", "Registering churn v0.3.0", "churn@v0.3.0", "HEAD")
    [result] = modelgit.verify(registry, "churn@v0.3.0")
    statuses = {c.name: c.status for c in result.checks}
    assert statuses == {"tag": "ok", "metadata": "FAILED", "pipeline": "ok",
                        "fields": "not checked", "artifact bytes": "ok"}  # fmt: skip
    assert check(result, "fields").detail == "the tag carries no metadata to compare"


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
    assert result.ok and "from the DVC remote" in check(result, "artifact bytes").detail


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
    assert ok.ok and ok.checks[-1].detail == "the signature verifies" and ok.notes == ()
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
    # YAML reads the forged md5 as a number: shown as JSON writes it, it is told apart.
    assert (
        problems["data"] == f'data[data/train.csv].md5: recorded {"1" * 32}, derived "{train_md5}"'
    )
    assert problems["fingerprint"].startswith("fingerprint (over the recorded fields)")


def test_tags_listing_every_intermediate_still_verify_past_the_bound(retrained, monkeypatch):
    # Tags written before the bound listed every intermediate output in `data`, however many;
    # a pipeline past the bound now records them as a count and digest. Lowering the bound to 0
    # puts the example's one intermediate (data/train.csv) past it without 100 stages.
    from modelgit.model import inputs

    old = modelgit.show(retrained, "churn@v0.2.0").metadata
    assert [d["path"] for d in old["data"]] == ["data/train.csv"] and "intermediate" not in old
    monkeypatch.setattr(inputs, "LISTED_INTERMEDIATE_MAX", 0)
    assert all(r.ok for r in modelgit.verify(retrained, "churn@v0.2.0"))

    new = modelgit.bump(retrained, "minor")
    document = modelgit.show(retrained, new.tag).metadata
    assert document["data"] == [] and document["intermediate"]["count"] == 1
    assert all(r.ok for r in modelgit.verify(retrained, new.tag))

    # The full listing is still checked entry by entry.
    train_md5 = old["data"][0]["md5"]
    message = tag_message(retrained, "churn@v0.2.0").replace(train_md5, "2" * 32)
    retag(retrained, "churn@v0.2.0", message, "churn@v0.2.0^{commit}")
    assert "data" in failed(modelgit.verify(retrained, "churn@v0.2.0"))
