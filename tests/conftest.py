"""Real git and real DVC in tmp_path: an isolated HOME, a git identity, no analytics."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import modelgit

BIN = str(Path(sys.executable).parent)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    home = tmp_path_factory.mktemp("home")
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Test User\n\temail = test@example.com\n"
        "[commit]\n\tgpgsign = false\n[tag]\n\tgpgsign = false\n"
        "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n"
    )
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    # The example's stages run `python`: it must be this interpreter, with scikit-learn.
    monkeypatch.setenv("PATH", BIN + os.pathsep + os.environ.get("PATH", ""))
    for name in ("GIT_DIR", "GIT_WORK_TREE", "MODELGIT_DEBUG"):
        monkeypatch.delenv(name, raising=False)


def git(repo: Path, *args: str, stdin: str | None = None) -> str:
    """Run real git in `repo` and return stdout."""
    proc = subprocess.run(
        ["git", *args], cwd=repo, input=stdin, capture_output=True, text=True, check=True
    )
    return proc.stdout


def dvc(repo: Path, *args: str) -> str:
    """Run the real dvc CLI in `repo`."""
    proc = subprocess.run(
        [os.path.join(BIN, "dvc"), *args], cwd=repo, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return proc.stdout


def imports_dvc(statement: str) -> bool:
    """Whether running `statement` in a fresh interpreter imports any dvc module."""
    code = f"import sys\n{statement}\nprint(any(m.split('.')[0] == 'dvc' for m in sys.modules))\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return proc.stdout.strip() == "True"


def tag_message(repo: Path, tag: str) -> str:
    """The full message of an annotated tag (subject, blank line, metadata YAML)."""
    return git(repo, "for-each-ref", "--format=%(contents)", f"refs/tags/{tag}")


def commit_all(repo: Path, message: str) -> str:
    """Stage everything and commit; returns the new HEAD."""
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def set_param(repo: Path, old: str, new: str) -> None:
    """Edit params.yaml textually (keeps the file's layout, as a user would)."""
    path = repo / "params.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def change_and_repro(repo: Path, old: str, new: str, message: str) -> str:
    """Change a param, reproduce and commit: a new model version ready to tag."""
    set_param(repo, old, new)
    dvc(repo, "repro", "--quiet")
    return commit_all(repo, message)


@contextlib.contextmanager
def template_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The isolated environment for session fixtures (the autouse one is per test)."""
    home = tmp_path_factory.mktemp("template-home")
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Test User\n\temail = test@example.com\n[init]\n\tdefaultBranch = main\n"
    )
    saved = dict(os.environ)
    os.environ.update(
        HOME=str(home),
        GIT_CONFIG_NOSYSTEM="1",
        DVC_NO_ANALYTICS="1",
        PATH=BIN + os.pathsep + os.environ.get("PATH", ""),
    )
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="session")
def example_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example project initialised, reproduced and committed once per session."""
    with template_env(tmp_path_factory):
        root = tmp_path_factory.mktemp("template") / "project"
        modelgit.init(root, example=True)
        dvc(root, "repro", "--quiet")
        commit_all(root, "Reproduce the example pipeline")
    return root


@pytest.fixture(scope="session")
def registry_template(example_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example project with two versions, built once per session through the public API."""
    with template_env(tmp_path_factory):
        root = tmp_path_factory.mktemp("registry") / "project"
        shutil.copytree(example_template, root, symlinks=True)
        modelgit.bump(root, "minor")
        change_and_repro(root, "C: 1.0", "C: 0.3", "Regularise more")
        modelgit.bump(root, "minor")
    return root


@pytest.fixture(scope="session")
def retrained_template(registry_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The registry plus a retrained, committed, unregistered model (train.C 0.3 -> 0.25)."""
    with template_env(tmp_path_factory):
        root = tmp_path_factory.mktemp("retrained") / "project"
        shutil.copytree(registry_template, root, symlinks=True)
        change_and_repro(root, "C: 0.3", "C: 0.25", "Retrain with train.C 0.25")
    return root


def copy_project(template: Path, tmp_path: Path) -> Path:
    """A test's own copy of a session-built project (git history, DVC cache and all)."""
    target = tmp_path / "project"
    shutil.copytree(template, target, symlinks=True)
    return target


class Payload:
    """Runs a shell command when unpickled: what the scanner must refuse (never loaded here)."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


@pytest.fixture
def project(example_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the reproduced example project (git history, DVC cache and all)."""
    return copy_project(example_template, tmp_path)


@pytest.fixture
def registry(registry_template: Path, tmp_path: Path) -> Path:
    """The example project with two versions (churn@v0.1.0 with C 1.0, churn@v0.2.0 with C 0.3)."""
    return copy_project(registry_template, tmp_path)


@pytest.fixture
def retrained(retrained_template: Path, tmp_path: Path) -> Path:
    """The registry with a new model at HEAD (train.C 0.25) that the next bump makes v0.3.0.

    Built once per session: use it instead of `change_and_repro` whenever any new model will do.
    """
    return copy_project(retrained_template, tmp_path)


# An S3-protocol server on 127.0.0.1 (moto's server mode): a real DVC remote for the tests
# that publish, release and download. Credentials are fake and live in the environment only.
S3_REGION = "us-east-1"


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """Start moto's S3 server on a free local port once per session; yields its endpoint URL."""
    import socket

    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def s3_credentials(environ: Any) -> None:
    """Fake credentials for the test server (moto accepts any)."""
    environ["AWS_ACCESS_KEY_ID"] = "testing"
    environ["AWS_SECRET_ACCESS_KEY"] = "testing"
    environ["AWS_DEFAULT_REGION"] = S3_REGION
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        environ.pop(name, None)


def s3_client(endpoint: str) -> Any:
    """A boto3 client of the test server."""
    import boto3

    return boto3.client(
        "s3", endpoint_url=endpoint, region_name=S3_REGION,
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip


def new_bucket(endpoint: str, prefix: str = "models") -> str:
    """A fresh, empty bucket on the test server; returns its name."""
    import uuid

    name = f"{prefix}-{uuid.uuid4().hex[:12]}"
    s3_client(endpoint).create_bucket(Bucket=name)
    return name


def copy_bucket(endpoint: str, source: str, target: str) -> None:
    """Copy every object of one test bucket into another."""
    client = s3_client(endpoint)
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=source):
        for item in page.get("Contents", []):
            client.copy_object(
                Bucket=target, Key=item["Key"], CopySource={"Bucket": source, "Key": item["Key"]}
            )


def add_s3_remote(
    repo: Path, endpoint: str, bucket: str, *, commit: bool = False, level: str = "repo"
) -> str:
    """Make `s3://<bucket>/dvcstore` (at the test server) the project's default DVC remote,
    as `dvc remote add -d` and `dvc remote modify endpointurl` would; returns its URL."""
    from dvc.repo import Repo

    url = f"s3://{bucket}/dvcstore"
    with Repo(str(repo)) as project, project.config.edit(level) as config:
        config["remote"]["storage"] = {"url": url, "endpointurl": endpoint}
        config["core"]["remote"] = "storage"
    if commit:
        commit_all(repo, "Use the S3 remote")
    return url


@pytest.fixture(scope="session")
def s3_registry_bucket(
    registry_template: Path, s3_server: str, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """A bucket holding every object the registry's versions need (`dvc push --all-commits`)."""
    from dvc.repo import Repo

    with template_env(tmp_path_factory):
        s3_credentials(os.environ)
        work = copy_project(registry_template, tmp_path_factory.mktemp("s3-push"))
        bucket = new_bucket(s3_server, "template")
        # Local config: DVC reads each commit's own .dvc/config, which names no remote.
        add_s3_remote(work, s3_server, bucket, level="local")
        with Repo(str(work)) as project:
            project.push(all_commits=True)
    return bucket


@pytest.fixture
def s3_registry(
    registry: Path, s3_server: str, s3_registry_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, str]:
    """The registry with its own bucket on the S3 test server as its default DVC remote (every
    version pushed, the remote config committed); returns (repo, bucket)."""
    environ: dict[str, str] = {}
    s3_credentials(environ)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    bucket = new_bucket(s3_server)
    copy_bucket(s3_server, s3_registry_bucket, bucket)
    add_s3_remote(registry, s3_server, bucket, commit=True)
    return registry, bucket
