"""bump on a 5,000-stage pipeline writes a tag that show and verify read back (issue 17 item 5).

The pipeline comes from bench/scale_projects.py, which writes dvc.lock and the DVC cache the
way `dvc repro` of trivial stages leaves them (5,000 real commands would take many minutes);
bump itself runs DVC's status over all 5,000 stages and would refuse if DVC disagreed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import git, tag_message

import modelgit
from modelgit.model.inputs import LISTED_INTERMEDIATE_MAX
from modelgit.registry import metadata

BENCH = Path(__file__).parents[2] / "bench"


@pytest.mark.slow
def test_a_5000_stage_chain_is_tagged_within_the_size_show_and_verify_read(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    from scale_projects import chain

    root = tmp_path / "chain"
    chain(root, 5000)
    result = modelgit.bump(root, "minor")
    message = tag_message(root, result.tag)
    assert len(message.encode()) < 64 * 1024 < metadata.MAX_MESSAGE_BYTES
    document = metadata.parse(message)
    raw = document["data"][0]
    assert document["data"] == [{"path": "data/raw.csv", "md5": raw["md5"], "size": 8}]
    assert document["intermediate"]["count"] == 4998 > LISTED_INTERMEDIATE_MAX
    assert len(document["stages"]) == 4999  # every upstream stage, the steps and train
    assert modelgit.show(root, result.tag).problem is None
    assert all(r.ok for r in modelgit.verify(root, result.tag))

    # An intermediate output recorded differently from dvc.lock is still caught.
    tampered = message.replace(document["intermediate"]["sha256"], "f" * 64)
    git(root, "tag", "-f", "-a", "--cleanup=verbatim", "-F", "-", result.tag, "HEAD",
        stdin=tampered)  # fmt: skip
    failed = {c.name: c for r in modelgit.verify(root, result.tag) for c in r.checks
              if c.status == "FAILED"}  # fmt: skip
    assert set(failed) == {"intermediate"}
    (mismatch,) = failed["intermediate"].mismatches
    assert (mismatch.field, mismatch.recorded) == ("intermediate.sha256", "f" * 64)
    assert mismatch.derived == document["intermediate"]["sha256"]
