"""`get` and `gc --cloud` against the S3 test server as the project's DVC remote."""

from __future__ import annotations

import hashlib

from conftest import s3_client, tag_message

import modelgit
from modelgit.registry import metadata


def artifact_md5(repo, version):
    return metadata.parse(tag_message(repo, f"churn@v{version}"))["artifact"]["md5"]


def remote_keys(endpoint, bucket):
    pages = s3_client(endpoint).get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {item["Key"] for page in pages for item in page.get("Contents", [])}


def test_get_reads_the_s3_remote_when_the_cache_lacks_the_bytes(s3_registry, s3_server, tmp_path):
    repo, _ = s3_registry
    md5 = artifact_md5(repo, "0.1.0")
    (repo / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]).unlink()
    result = modelgit.get("churn@v0.1.0", tmp_path / "churn.pkl", repo=repo)
    assert hashlib.md5(result.path.read_bytes()).hexdigest() == md5


def test_gc_cloud_removes_only_retired_objects_from_s3(s3_registry, s3_server):
    repo, bucket = s3_registry
    modelgit.promote(repo, "churn", "0.2.0", "production")
    retired, kept = artifact_md5(repo, "0.1.0"), artifact_md5(repo, "0.2.0")
    key = lambda md5: f"dvcstore/files/md5/{md5[:2]}/{md5[2:]}"  # noqa: E731
    assert {key(retired), key(kept)} <= remote_keys(s3_server, bucket)
    result = modelgit.gc(repo, keep_last=1, keep_days=0, apply=True, cloud=True)
    assert result.retired_tags == ("churn@v0.1.0!",)
    after = remote_keys(s3_server, bucket)
    assert key(retired) not in after and key(kept) in after
    (check,) = modelgit.verify(repo, "churn@v0.2.0")
    assert check.ok
