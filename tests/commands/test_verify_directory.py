"""verify on a directory artifact: every file its `.dir` listing names is hashed again, from the
workspace, the DVC cache or a DVC remote; a changed, missing or extra file fails, named."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from conftest import commit_all, copy_project, dvc, template_env
from typer.testing import CliRunner

import modelgit
from modelgit.cli.app import app

runner = CliRunner()
BUNDLE = "models/bundle"


def write_bundle(root: Path, weights: bytes) -> None:
    folder = root / BUNDLE
    (folder / "sub").mkdir(parents=True, exist_ok=True)
    (folder / "weights.bin").write_bytes(weights)
    (folder / "config.json").write_text('{"layers": 2}\n')
    (folder / "sub" / "vocab.txt").write_text("churn\nstay\n")


@pytest.fixture(scope="session")
def bundle_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DVC project whose model is a `dvc add`-ed directory, registered twice: v0.1.0, then
    v0.2.0 with other weights (config.json and sub/vocab.txt are the same in both)."""
    with template_env(tmp_path_factory):
        root = tmp_path_factory.mktemp("bundle") / "project"
        modelgit.init(root)
        (root / "dvc.yaml").write_text(
            f"artifacts:\n  bundle:\n    path: {BUNDLE}\n    type: model\n"
        )
        write_bundle(root, bytes(range(256)) * 8)
        dvc(root, "add", "--quiet", BUNDLE)
        commit_all(root, "A directory model")
        modelgit.bump(root, "minor")
        write_bundle(root, bytes(range(255, -1, -1)) * 8)
        dvc(root, "add", "--quiet", BUNDLE)
        commit_all(root, "Other weights")
        modelgit.bump(root, "minor")
    return root


@pytest.fixture
def bundle(bundle_template: Path, tmp_path: Path) -> Path:
    return copy_project(bundle_template, tmp_path)


def md5_of(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def cache_object(repo: Path, md5: str) -> Path:
    return repo / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]


def overwrite(path: Path, data: bytes) -> None:
    path.chmod(0o644)  # DVC leaves cache objects read-only
    path.write_bytes(data)


def bytes_check(result):
    return next(c for c in result.checks if c.name == "artifact bytes")


def listing_md5(repo: Path, version: str) -> str:
    return modelgit.show(repo, f"bundle@v{version}").metadata["artifact"]["md5"]


CONFIG_MD5 = md5_of(b'{"layers": 2}\n')


def test_every_file_is_hashed_from_the_workspace_or_the_cache(bundle):
    heard = []
    [latest] = modelgit.verify(bundle, progress=lambda *event: heard.append(event))
    assert latest.verdict == "verified"
    assert bytes_check(latest).detail == (
        f"{BUNDLE}: 3 files from the workspace (2073 bytes), each as its listing in the DVC "
        f"cache ({listing_md5(bundle, '0.2.0')}) says"
    )
    # Progress runs over the whole directory, file after file, up to its size.
    assert heard[-1] == (f"{BUNDLE} (workspace)", 2073, 2073)
    assert [done for _, done, _ in heard] == sorted(done for _, done, _ in heard)
    [older] = modelgit.verify(bundle, "bundle@v0.1.0")
    assert older.verdict == "verified"
    assert bytes_check(older).detail.startswith(f"{BUNDLE}: 3 files from the DVC cache (2073 ")


def test_a_file_changed_in_workspace_and_cache_is_named(bundle):
    changed = b'{"layers": 3}\n'
    (bundle / BUNDLE / "config.json").write_bytes(changed)
    overwrite(cache_object(bundle, CONFIG_MD5), changed)
    result = runner.invoke(app, ["verify", "bundle@v0.2.0", "-C", str(bundle)])
    assert result.exit_code == 1
    assert result.stdout.startswith("bundle@v0.2.0: FAILED (artifact bytes)\n")
    assert (
        f"  FAILED       artifact bytes:\n{'':15}{BUNDLE}/config.json: the workspace copy hashes "
        f"to {md5_of(changed)}, the listing says {CONFIG_MD5}\n"
    ) in result.stdout
    # The older version shares that file: proved from the cache, it fails the same way.
    [older] = modelgit.verify(bundle, "bundle@v0.1.0")
    assert bytes_check(older).problems == (
        f"{BUNDLE}/config.json: the DVC cache copy hashes to {md5_of(changed)}, the listing "
        f"says {CONFIG_MD5}",
    )


def test_missing_and_extra_files_are_named(bundle):
    vocab = md5_of(b"churn\nstay\n")
    (bundle / BUNDLE / "sub" / "vocab.txt").unlink()
    (bundle / BUNDLE / "notes.txt").write_text("not part of the version\n")
    [latest] = modelgit.verify(bundle)
    assert bytes_check(latest).problems == (
        f"{BUNDLE}/sub/vocab.txt: missing from the workspace",
        f"{BUNDLE}/notes.txt: extra file in the workspace, not in the listing",
    )
    cache_object(bundle, vocab).unlink()
    [older] = modelgit.verify(bundle, "bundle@v0.1.0")
    assert bytes_check(older).problems == (
        f"{BUNDLE}/sub/vocab.txt: in neither the DVC cache nor the DVC remote (no default DVC "
        "remote is configured)",
    )
    skipped = runner.invoke(app, ["verify", "bundle@v0.1.0", "--no-bytes", "-C", str(bundle)])
    assert skipped.exit_code == 0
    assert skipped.stdout.startswith("bundle@v0.1.0: partly verified (not checked: artifact ")


def test_a_forged_listing_is_caught(bundle):
    md5 = listing_md5(bundle, "0.1.0")
    listing = cache_object(bundle, md5)
    entries = json.loads(listing.read_text())
    entries.append({"md5": CONFIG_MD5, "relpath": "backdoor.json"})
    overwrite(listing, json.dumps(entries).encode())
    [older] = modelgit.verify(bundle, "bundle@v0.1.0")
    [problem] = bytes_check(older).problems
    assert problem.startswith(f"{BUNDLE}: its listing in the DVC cache hashes to ")
    assert problem.endswith(f".dir, not {md5}")


@pytest.mark.slow
def test_a_local_remote_holds_the_bytes_the_cache_lacks(bundle, tmp_path):
    # Two `dvc` processes: the user's own steps to set up and fill a remote.
    remote = tmp_path / "remote"
    dvc(bundle, "remote", "add", "--local", "-d", "storage", str(remote))
    dvc(bundle, "push", "--quiet", "--all-commits")
    shutil.rmtree(bundle / ".dvc" / "cache")
    [older] = modelgit.verify(bundle, "bundle@v0.1.0")
    assert older.verdict == "verified"
    assert bytes_check(older).detail == (
        f"{BUNDLE}: 3 files from the DVC remote (2073 bytes), each as its listing in the DVC "
        f"remote ({listing_md5(bundle, '0.1.0')}) says"
    )
    # The remote's copy of one file changed, another's gone: both named.
    weights = md5_of(bytes(range(256)) * 8)
    overwrite(remote / "files" / "md5" / weights[:2] / weights[2:], b"tampered")
    (remote / "files" / "md5" / CONFIG_MD5[:2] / CONFIG_MD5[2:]).unlink()
    [older] = modelgit.verify(bundle, "bundle@v0.1.0")
    assert bytes_check(older).problems == (
        f"{BUNDLE}/config.json: in neither the DVC cache nor the DVC remote",
        f"{BUNDLE}/weights.bin: the DVC remote copy hashes to {md5_of(b'tampered')}, the "
        f"listing says {weights}",
    )
