"""DVC's own `dvc artifacts get --stage` reads modelgit's stage tags (GTO's format)."""

from __future__ import annotations

import hashlib

import pytest
from conftest import dvc

import modelgit


def _md5(path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_dvc_artifacts_get_follows_modelgit_stages(registry):
    old = modelgit.show(registry, "churn@v0.1.0").metadata["artifact"]["md5"]
    new = modelgit.show(registry, "churn@v0.2.0").metadata["artifact"]["md5"]
    assert old != new and _md5(registry / "models" / "churn.pkl") == new
    modelgit.promote(registry, "churn@v0.2.0", None, "production", force=True)
    modelgit.rollback(registry, "churn#production", to="0.1.0")  # production holds v0.1.0 again
    # DVC resolves --stage through GTO's tag reader and fetches from the cache (or remote).
    out = dvc(registry, "artifacts", "get", ".", "churn", "--stage", "production", "-o", "prod.pkl")
    assert "Downloaded 1 file(s)" in out
    assert _md5(registry / "prod.pkl") == old
    dvc(registry, "artifacts", "get", ".", "churn", "--rev", "v0.2.0", "-o", "v2.pkl")
    assert _md5(registry / "v2.pkl") == new
